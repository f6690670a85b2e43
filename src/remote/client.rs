//! The kiosk's remote classifier: face crops out to the workers, probabilities back, and the
//! local model whenever the broker or the workers do not answer in time.
//!
//! States: **remote** (each frame's crops go out as one QoS 1 request; the track thread
//! waits up to the deadline for the answer) and **fallback** (the local model classifies;
//! every `retry_after_s` one frame's crops go out as a probe without waiting, and the first
//! valid answer to a probe switches back to remote). A missed deadline, a lost broker or a
//! bad answer switches to fallback for that very frame, so every frame is classified.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use image::RgbImage;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{Client, Connection, Event};

use super::wire::{self, CropShape};
use super::{BrokerSettings, ClassifierMode, RemoteError, set_mode};
use crate::logs::RateLimited;
use crate::vision::manifest::{ClassifierManifest, Color, InputSpec, Layout};
use crate::vision::resample::{Resampler, TensorFormat};
use crate::vision::{ClassifierSpec, EmotionClassifier, Face, Framing};
use crate::warn_limited;

/// Answers that may wait for the track thread (more are dropped: they are late anyway).
pub const REPLY_SLOTS: usize = 64;
/// Correlation ids given up on that are still recognised when their answer comes late.
pub const RECENT_IDS: usize = 256;
/// How long a starting kiosk waits for the broker before it begins with the local model.
pub const CONNECT_WAIT: Duration = Duration::from_secs(2);
/// How often the connection thread checks for a stop.
const POLL: Duration = Duration::from_millis(100);

/// An answer as it arrived: correlation id and payload.
type Answer = (u64, Vec<u8>);

/// What the kiosk's remote classification counted so far.
#[derive(Debug, Default)]
pub struct KioskCounters {
    /// Requests sent (probes included).
    pub sent: AtomicU64,
    /// Frames the workers classified.
    pub answered: AtomicU64,
    /// Frames the local model classified because no valid answer came in time.
    pub fallback: AtomicU64,
    /// Answers that came after their frame was classified locally.
    pub late: AtomicU64,
    /// Answers with a correlation id this kiosk never sent (dropped, warned).
    pub unknown: AtomicU64,
    /// Answers that did not decode or did not fit the request (dropped, warned).
    pub bad: AtomicU64,
}

impl KioskCounters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One line for the log.
    pub fn summary(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "remote classification: {} request(s) sent, {} frame(s) answered by workers, {} classified locally \
             (fallback), {} late, {} unknown and {} bad answer(s)",
            g(&self.sent),
            g(&self.answered),
            g(&self.fallback),
            g(&self.late),
            g(&self.unknown),
            g(&self.bad)
        )
    }
}

/// The kiosk's end of the broker.
pub struct RemoteClassifier {
    client: Client,
    answers: Receiver<Answer>,
    connected: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    local: Option<EmotionClassifier>,
    labels: Vec<String>,
    labels_hash: u64,
    shape: CropShape,
    framing: Framing,
    format: TensorFormat,
    request_topic: String,
    reply_topic: String,
    deadline: Duration,
    retry_after: Duration,
    mode: ClassifierMode,
    /// The probe sent while in fallback, and when.
    probe: Option<(u64, Instant)>,
    next_id: u64,
    recent: VecDeque<u64>,
    counters: Arc<KioskCounters>,
    unknown_log: RateLimited,
    bad_log: RateLimited,
    resampler: Resampler,
    values: Vec<f32>,
    pixels: Vec<u8>,
    payload: Vec<u8>,
    reply_probs: Vec<f32>,
}

impl RemoteClassifier {
    /// Reads the classifier's manifest (crop size, labels), opens the local model for the
    /// fallback when it can, and starts connecting to the broker (in the background: a broker
    /// that is away is no error, the kiosk classifies locally until it answers).
    pub fn connect(
        env: &ort::environment::Environment,
        spec: &ClassifierSpec,
        broker: &BrokerSettings,
    ) -> Result<Self, RemoteError> {
        let manifest = spec.load_manifest()?;
        let local = match crate::vision::open_classifier(env, spec) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(
                    "no local model for the fallback ({}): frames the workers miss are skipped",
                    crate::logs::error_chain(&e)
                );
                None
            }
        };
        let kiosk = broker.user.clone().unwrap_or_else(|| format!("kiosk-{}", std::process::id()));
        super::check_topic_level("kiosk id (broker user)", &kiosk)?;
        let options = super::mqtt_options(broker, &kiosk)?;
        let (client, connection) = Client::new(options, super::CLIENT_QUEUE);
        let (answers_tx, answers) = bounded(REPLY_SLOTS);
        let connected = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let reply_topic = super::reply_topic(&kiosk);
        let thread = {
            let (client, connected, stop, topic) =
                (client.clone(), connected.clone(), stop.clone(), reply_topic.clone());
            std::thread::Builder::new()
                .name("kiosk-mqtt".into())
                .spawn(move || run_connection(connection, &client, &topic, &answers_tx, &connected, &stop))
                .map_err(|e| RemoteError::Send(format!("cannot start the connection thread: {e}")))?
        };
        let shape = crop_shape(&manifest);
        let waited = Instant::now();
        while !connected.load(Ordering::Relaxed) && waited.elapsed() < CONNECT_WAIT {
            std::thread::sleep(POLL / 10);
        }
        let mode = if connected.load(Ordering::Relaxed) { ClassifierMode::Remote } else { ClassifierMode::Fallback };
        set_mode(mode);
        Ok(Self {
            client,
            answers,
            connected,
            stop,
            thread: Some(thread),
            local,
            labels_hash: wire::labels_hash(&manifest.labels),
            labels: manifest.labels.clone(),
            shape,
            framing: manifest.framing,
            format: TensorFormat::from_input(&crop_input(shape)),
            request_topic: super::request_topic(&kiosk),
            reply_topic,
            deadline: Duration::from_millis(u64::from(broker.deadline_ms)),
            retry_after: Duration::from_secs_f32(broker.retry_after_s.max(0.0)),
            mode,
            probe: None,
            next_id: 1,
            recent: VecDeque::with_capacity(RECENT_IDS),
            counters: Arc::default(),
            unknown_log: RateLimited::default(),
            bad_log: RateLimited::default(),
            resampler: Resampler::default(),
            values: Vec::new(),
            pixels: Vec::new(),
            payload: Vec::new(),
            reply_probs: Vec::new(),
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The counts so far (shared: they go on counting).
    pub fn counters(&self) -> Arc<KioskCounters> {
        self.counters.clone()
    }

    /// Where this kiosk's answers arrive.
    pub fn reply_topic(&self) -> &str {
        &self.reply_topic
    }

    /// Classifies every face of `frame`: by the workers when they answer in time, else by the
    /// local model. `probs` gets `faces.len() * labels().len()` values.
    pub fn classify_faces(
        &mut self,
        frame: &RgbImage,
        faces: &[Face],
        probs: &mut Vec<f32>,
    ) -> Result<(), RemoteError> {
        probs.clear();
        if faces.is_empty() {
            self.take_answers(None, probs);
            return Ok(());
        }
        self.crop_faces(frame, faces);
        let connected = self.connected.load(Ordering::Relaxed);
        if connected && self.mode == ClassifierMode::Remote {
            if let Some(id) = self.send(faces.len()) {
                let until = Instant::now() + self.deadline;
                if self.wait_for(id, faces.len(), until, probs) {
                    KioskCounters::add(&self.counters.answered);
                    return Ok(());
                }
                self.give_up(id);
            }
            tracing::info!("the workers did not answer in {} ms: classifying locally", self.deadline.as_millis());
            self.switch(ClassifierMode::Fallback);
        } else {
            // Remote here means the connection was lost since the last frame.
            if self.mode == ClassifierMode::Remote {
                tracing::info!("the broker is away: classifying locally");
                self.switch(ClassifierMode::Fallback);
            }
            // Fallback: an answer to the last probe switches back (from the next frame on,
            // so this check comes after the one above, which would undo it).
            self.take_answers(None, probs);
            probs.clear();
            let probe_due = self.probe.is_none_or(|(_, at)| at.elapsed() >= self.retry_after);
            if connected && probe_due && self.mode == ClassifierMode::Fallback {
                if let Some((old, _)) = self.probe.take() {
                    self.give_up(old);
                }
                self.probe = self.send(faces.len()).map(|id| (id, Instant::now()));
            }
        }
        KioskCounters::add(&self.counters.fallback);
        match self.local.as_mut() {
            Some(local) => Ok(local.classify_faces(frame, faces, probs)?),
            None => Err(RemoteError::Send("no answer in time and no local model".into())),
        }
    }

    fn switch(&mut self, mode: ClassifierMode) {
        self.mode = mode;
        set_mode(mode);
    }

    /// Cuts the faces into `pixels` at the classifier's input size (gray or RGB bytes).
    fn crop_faces(&mut self, frame: &RgbImage, faces: &[Face]) {
        let (w, h) = (usize::from(self.shape.width), usize::from(self.shape.height));
        let c = usize::from(self.shape.channels);
        self.values.resize(w * h * c, 0.0);
        self.pixels.clear();
        for face in faces {
            let region = self.framing.region(face);
            self.resampler.sample_into(frame, region, w, h, w, h, &self.format, &mut self.values);
            self.pixels.extend(self.values.iter().map(|v| v.round().clamp(0.0, 255.0) as u8));
        }
    }

    /// Sends the crops in `pixels` as a QoS 1 request; its correlation id, or `None` when it
    /// could not be queued.
    fn send(&mut self, count: usize) -> Option<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let deadline_ms = u32::try_from(self.deadline.as_millis()).unwrap_or(u32::MAX);
        if let Err(e) = wire::encode_request(&mut self.payload, self.shape, count, id, deadline_ms, &self.pixels) {
            warn_limited!(self.bad_log, "cannot encode a request: {e}");
            return None;
        }
        let properties = PublishProperties {
            response_topic: Some(self.reply_topic.clone()),
            correlation_data: Some(id.to_le_bytes().to_vec().into()),
            // A request nobody took before its deadline is worthless: the broker drops it.
            message_expiry_interval: Some(self.deadline.as_secs_f32().ceil().max(1.0) as u32),
            ..PublishProperties::default()
        };
        let payload = self.payload.clone();
        match self.client.try_publish_with_properties(
            self.request_topic.clone(),
            QoS::AtLeastOnce,
            false,
            payload,
            properties,
        ) {
            Ok(()) => {
                KioskCounters::add(&self.counters.sent);
                Some(id)
            }
            Err(e) => {
                tracing::debug!("request {id} not queued: {e}");
                None
            }
        }
    }

    /// Remembers an id given up on, so that its late answer is not taken for a stranger's.
    fn give_up(&mut self, id: u64) {
        if self.recent.len() == RECENT_IDS {
            self.recent.pop_front();
        }
        self.recent.push_back(id);
    }

    /// Waits until `until` for the answer to request `id` with `count` crops; `true` when it
    /// came and its probabilities are in `probs`.
    fn wait_for(&mut self, id: u64, count: usize, until: Instant, probs: &mut Vec<f32>) -> bool {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let answer = match self.answers.recv_timeout(left) {
                Ok(a) => a,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            };
            match self.check_answer(answer, Some((id, count)), probs) {
                Checked::Mine => return true,
                Checked::Other => {}
            }
            if !self.connected.load(Ordering::Relaxed) {
                return false;
            }
        }
    }

    /// Sorts the answers waiting now (fallback): a valid answer to the probe switches back.
    fn take_answers(&mut self, expect: Option<(u64, usize)>, probs: &mut Vec<f32>) {
        while let Ok(answer) = self.answers.try_recv() {
            if let Checked::Mine = self.check_answer(answer, expect, probs) {
                return;
            }
        }
    }

    /// Checks one answer: the one awaited (`expect`: id and crop count), a valid answer to
    /// the probe (switches back to remote), a late one, or one to drop with a warning.
    fn check_answer(&mut self, (id, payload): Answer, expect: Option<(u64, usize)>, probs: &mut Vec<f32>) -> Checked {
        let probe = self.probe.map(|(p, _)| p);
        let awaited = expect.map(|(e, _)| e);
        if Some(id) != awaited && Some(id) != probe {
            if self.recent.contains(&id) {
                KioskCounters::add(&self.counters.late);
                tracing::debug!("answer {id} came after its deadline: dropped");
            } else {
                KioskCounters::add(&self.counters.unknown);
                warn_limited!(self.unknown_log, "dropped an answer with unknown correlation id {id}");
            }
            return Checked::Other;
        }
        let mut reply_probs = std::mem::take(&mut self.reply_probs);
        let valid = match wire::decode_reply(&payload, &mut reply_probs) {
            Ok(r) if r.labels_hash != self.labels_hash || r.classes != self.labels.len() => Err(format!(
                "model '{}' has other labels ({} classes, hash {:016x}, expected {} classes, hash {:016x})",
                r.model,
                r.classes,
                r.labels_hash,
                self.labels.len(),
                self.labels_hash
            )),
            Ok(r) if r.frame_id != id => Err(format!("answers frame {} under correlation id {id}", r.frame_id)),
            Ok(r) if expect.is_some_and(|(_, count)| r.count != count) => {
                Err(format!("has {} crops, the request had {}", r.count, expect.map_or(0, |e| e.1)))
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        let checked = match valid {
            Err(reason) => {
                KioskCounters::add(&self.counters.bad);
                warn_limited!(self.bad_log, "dropped answer {id}: {reason}");
                if Some(id) == probe {
                    self.probe = None;
                    self.give_up(id);
                }
                Checked::Other
            }
            Ok(()) if Some(id) == awaited => {
                probs.clear();
                probs.extend_from_slice(&reply_probs);
                Checked::Mine
            }
            Ok(()) => {
                // The probe's frame was classified locally already; the workers are back.
                self.probe = None;
                if self.mode != ClassifierMode::Remote {
                    tracing::info!("the workers answer again: classifying remotely");
                    self.switch(ClassifierMode::Remote);
                }
                Checked::Other
            }
        };
        self.reply_probs = reply_probs;
        checked
    }
}

/// What [`RemoteClassifier::check_answer`] made of an answer.
enum Checked {
    /// The awaited answer; its probabilities are in `probs`.
    Mine,
    /// Anything else (counted, and acted on when it was the probe's).
    Other,
}

impl Drop for RemoteClassifier {
    fn drop(&mut self) {
        tracing::info!("{}", self.counters.summary());
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.client.try_disconnect();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The shape of the crops the classifier takes: its input size, gray or RGB.
pub fn crop_shape(manifest: &ClassifierManifest) -> CropShape {
    let channels = if manifest.input.color == Color::Gray { 1 } else { 3 };
    let side = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
    CropShape { width: side(manifest.width), height: side(manifest.height), channels }
}

/// Pixel values as they are (0..255), gray or interleaved RGB: the crops' own format.
pub fn crop_input(shape: CropShape) -> InputSpec {
    let gray = shape.channels == 1;
    let ch = usize::from(shape.channels);
    InputSpec {
        name: String::new(),
        layout: Layout::Nhwc,
        width: Some(usize::from(shape.width)),
        height: Some(usize::from(shape.height)),
        color: if gray { Color::Gray } else { Color::Rgb },
        scale: 1.0,
        mean: vec![0.0; ch],
        std: vec![1.0; ch],
        stride: None,
    }
}

/// The connection thread: keeps the connection (reconnecting while the broker is away),
/// subscribes to the answers after each connect, and forwards them.
fn run_connection(
    mut connection: Connection,
    client: &Client,
    reply_topic: &str,
    answers: &Sender<Answer>,
    connected: &AtomicBool,
    stop: &AtomicBool,
) {
    let mut error_log = RateLimited::new(Duration::from_secs(5));
    let mut queue_log = RateLimited::default();
    while !stop.load(Ordering::Relaxed) {
        match connection.recv_timeout(POLL) {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                tracing::info!("connected to the broker");
                if let Err(e) = client.try_subscribe(reply_topic, QoS::AtLeastOnce) {
                    tracing::warn!("cannot subscribe to {reply_topic}: {e}");
                }
                connected.store(true, Ordering::Relaxed);
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                let correlation = p.properties.as_ref().and_then(|pr| pr.correlation_data.as_ref());
                let Some(id) = correlation.and_then(|c| <[u8; 8]>::try_from(c.as_ref()).ok()).map(u64::from_le_bytes)
                else {
                    warn_limited!(queue_log, "dropped an answer without an 8-byte correlation id");
                    continue;
                };
                if let Err(TrySendError::Full(_)) = answers.try_send((id, p.payload.to_vec())) {
                    warn_limited!(queue_log, "answer {id} dropped: {REPLY_SLOTS} answers wait already");
                }
            }
            Ok(Ok(_)) | Err(rumqttc::v5::RecvTimeoutError::Timeout) => {}
            Ok(Err(e)) => {
                connected.store(false, Ordering::Relaxed);
                warn_limited!(error_log, "broker connection: {e}; retrying");
                std::thread::sleep(super::RECONNECT_PAUSE);
            }
            Err(rumqttc::v5::RecvTimeoutError::Disconnected) => break,
        }
    }
    connected.store(false, Ordering::Relaxed);
}
