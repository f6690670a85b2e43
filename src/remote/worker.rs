//! The inference worker: takes kiosks' requests from a shared subscription, classifies the
//! crops with the same [`EmotionClassifier`] as every other command, and answers on each
//! request's response topic with its correlation data.
//!
//! It reports its load and health on a retained status topic (replaced by its last will
//! when it dies, cleared when it stops). On a stop it unsubscribes, answers what it already
//! holds, then clears its status and disconnects. Crops live only in memory: nothing is
//! written to disk, nothing is published retained but the status.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use image::{GrayImage, RgbImage};
use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet, Publish, PublishProperties, SubscribeReasonCode};
use rumqttc::v5::{Client, Connection, Event};
use serde::Serialize;

use super::client::crop_shape;
use super::wire::{self, CropShape};
use super::{BrokerSettings, RemoteError};
use crate::logs::RateLimited;
use crate::vision::{ClassifierSpec, EmotionClassifier};
use crate::warn_limited;

/// Requests the broker may have in flight to one worker (its MQTT 5 receive maximum): a
/// request is acknowledged once answered, so the broker holds the rest, and the other workers
/// of the group take them.
pub const WORKER_QUEUE: usize = 8;
/// How often the retained status is refreshed.
pub const STATUS_EVERY: Duration = Duration::from_secs(2);
/// On a stop: the queue counts as drained after this long without a new request.
pub const DRAIN_QUIET: Duration = Duration::from_millis(300);
/// On a stop: longest wait for the broker to take the last answers and the goodbye.
pub const GOODBYE_WAIT: Duration = Duration::from_secs(3);
/// How often waiting loops check for a stop.
const POLL: Duration = Duration::from_millis(100);

/// What a worker did over its run.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerSummary {
    /// Requests answered.
    pub answered: u64,
    /// Crops classified.
    pub crops: u64,
    /// Requests dropped as malformed, of the wrong size, or without a response topic.
    pub bad: u64,
}

/// The retained status message.
#[derive(Debug, Serialize)]
struct Status<'a> {
    worker: &'a str,
    /// "ready", "draining" or "lost" (the last will).
    state: &'a str,
    model: &'a str,
    /// Share of the last status interval spent classifying, 0..1.
    busy: f32,
    /// Requests waiting now.
    queued: usize,
    #[serde(flatten)]
    totals: &'a WorkerSummary,
}

/// Runs a worker until `stop` is set (then drains and returns what it did).
pub fn run(
    env: &ort::environment::Environment,
    spec: &ClassifierSpec,
    broker: &BrokerSettings,
    worker_id: &str,
    stop: &AtomicBool,
) -> Result<WorkerSummary, RemoteError> {
    super::check_topic_level("worker id (broker user)", worker_id)?;
    let classifier = crate::vision::open_classifier(env, spec)?;
    let status_topic = super::status_topic(worker_id);
    let mut options = super::mqtt_options(broker, worker_id)?;
    let lost = serde_json::json!({ "worker": worker_id, "state": "lost" }).to_string();
    options.set_last_will(LastWill::new(&status_topic, lost, QoS::AtLeastOnce, true, None));
    options.set_manual_acks(true).set_receive_maximum(Some(WORKER_QUEUE as u16));
    let (client, connection) = Client::new(options, super::CLIENT_QUEUE);
    let (jobs_tx, jobs) = bounded(WORKER_QUEUE);
    let filter = super::shared_request_filter(&broker.group);
    let connection_stop = std::sync::Arc::new(AtomicBool::new(false));
    let thread: JoinHandle<()> = {
        let (client, filter, stop) = (client.clone(), filter.clone(), connection_stop.clone());
        std::thread::Builder::new()
            .name("worker-mqtt".into())
            .spawn(move || run_connection(connection, &client, &filter, &jobs_tx, &stop))
            .map_err(|e| RemoteError::Send(format!("cannot start the connection thread: {e}")))?
    };
    tracing::info!("worker {worker_id}: model {}, requests from {filter}", classifier.manifest().name);
    let mut worker = Worker::new(classifier, client, status_topic, worker_id.to_string());
    worker.serve(&jobs, stop);
    tracing::info!("worker {worker_id}: stopping; answering the requests it holds");
    let _ = worker.client.try_unsubscribe(filter);
    worker.publish_status("draining");
    worker.drain(&jobs);
    // An empty retained message clears the status: a worker that stopped is not "lost".
    let _ = worker.client.try_publish(&worker.status_topic, QoS::AtLeastOnce, true, Vec::new());
    let _ = worker.client.try_disconnect();
    let deadline = Instant::now() + GOODBYE_WAIT;
    while !thread.is_finished() && Instant::now() < deadline {
        std::thread::sleep(POLL / 4);
    }
    connection_stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    tracing::info!(
        "worker {worker_id}: {} request(s) answered, {} crop(s), {} bad request(s)",
        worker.totals.answered,
        worker.totals.crops,
        worker.totals.bad
    );
    Ok(worker.totals)
}

/// The classifying side of a worker, with its reusable buffers.
struct Worker {
    classifier: EmotionClassifier,
    client: Client,
    status_topic: String,
    id: String,
    shape: CropShape,
    labels_hash: u64,
    totals: WorkerSummary,
    bad_log: RateLimited,
    gray: Vec<GrayImage>,
    rgb: Vec<RgbImage>,
    probs: Vec<f32>,
    reply: Vec<u8>,
    busy: Duration,
    since: Instant,
    queued: usize,
}

impl Worker {
    fn new(classifier: EmotionClassifier, client: Client, status_topic: String, id: String) -> Self {
        let shape = crop_shape(classifier.manifest());
        let labels_hash = wire::labels_hash(classifier.labels());
        Self {
            classifier,
            client,
            status_topic,
            id,
            shape,
            labels_hash,
            totals: WorkerSummary::default(),
            bad_log: RateLimited::default(),
            gray: Vec::new(),
            rgb: Vec::new(),
            probs: Vec::new(),
            reply: Vec::new(),
            busy: Duration::ZERO,
            since: Instant::now(),
            queued: 0,
        }
    }

    /// Answers requests until `stop`; refreshes the status every [`STATUS_EVERY`].
    fn serve(&mut self, jobs: &Receiver<Publish>, stop: &AtomicBool) {
        self.publish_status("ready");
        while !stop.load(Ordering::Relaxed) {
            if self.since.elapsed() >= STATUS_EVERY {
                self.queued = jobs.len();
                self.publish_status("ready");
            }
            match jobs.recv_timeout(POLL) {
                Ok(job) => self.answer(&job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Answers what is queued, until no request came for [`DRAIN_QUIET`].
    fn drain(&mut self, jobs: &Receiver<Publish>) {
        while let Ok(job) = jobs.recv_timeout(DRAIN_QUIET) {
            self.answer(&job);
        }
    }

    fn publish_status(&mut self, state: &str) {
        let elapsed = self.since.elapsed().as_secs_f32().max(1e-3);
        let status = Status {
            worker: &self.id,
            state,
            model: &self.classifier.manifest().name,
            busy: (self.busy.as_secs_f32() / elapsed).min(1.0),
            queued: self.queued,
            totals: &self.totals,
        };
        if let Ok(text) = serde_json::to_string(&status) {
            let _ = self.client.try_publish(&self.status_topic, QoS::AtLeastOnce, true, text);
        }
        self.busy = Duration::ZERO;
        self.since = Instant::now();
    }

    /// Classifies one request and publishes the answer; a bad request is counted and warned.
    fn answer(&mut self, job: &Publish) {
        let started = Instant::now();
        let answered = self.try_answer(job);
        // Acknowledged once answered (or refused): the broker then sends the next one.
        let _ = self.client.ack(job);
        if let Err(reason) = answered {
            self.totals.bad += 1;
            let topic = String::from_utf8_lossy(&job.topic);
            warn_limited!(self.bad_log, "dropped a request on {topic}: {reason}");
        }
        self.busy += started.elapsed();
    }

    fn try_answer(&mut self, job: &Publish) -> Result<(), String> {
        let props = job.properties.as_ref();
        let response_topic = props.and_then(|p| p.response_topic.clone()).ok_or("it has no response topic")?;
        let correlation = props.and_then(|p| p.correlation_data.clone()).ok_or("it has no correlation data")?;
        // Answers go to the requesting kiosk only: a request cannot aim them at another.
        let topic = std::str::from_utf8(&job.topic).map_err(|_| "its topic is not UTF-8")?;
        let kiosk = topic.rsplit('/').next().unwrap_or_default();
        if response_topic != super::reply_topic(kiosk) {
            return Err(format!("its response topic {response_topic} is not {}", super::reply_topic(kiosk)));
        }
        let request = wire::decode_request(&job.payload).map_err(|e| e.to_string())?;
        request.shape.expect(self.shape).map_err(|e| e.to_string())?;
        let count = request.count;
        let (w, h) = (u32::from(self.shape.width), u32::from(self.shape.height));
        let result = if self.shape.channels == 1 {
            fill(&mut self.gray, count, |i| request.crop(i), || GrayImage::new(w, h));
            self.classifier.classify_images(&self.gray[..count], &mut self.probs)
        } else {
            fill(&mut self.rgb, count, |i| request.crop(i), || RgbImage::new(w, h));
            self.classifier.classify_images(&self.rgb[..count], &mut self.probs)
        };
        result.map_err(|e| crate::logs::error_chain(&e))?;
        let classes = self.classifier.num_classes();
        let model = &self.classifier.manifest().name;
        let model = if model.len() > usize::from(u8::MAX) { &model[..0] } else { model.as_str() };
        wire::encode_reply(&mut self.reply, model, self.labels_hash, classes, request.frame_id, &self.probs)
            .map_err(|e| e.to_string())?;
        let properties = PublishProperties { correlation_data: Some(correlation), ..PublishProperties::default() };
        self.client
            .publish_with_properties(response_topic, QoS::AtLeastOnce, false, self.reply.clone(), properties)
            .map_err(|e| format!("cannot answer: {e}"))?;
        self.totals.answered += 1;
        self.totals.crops += count as u64;
        Ok(())
    }
}

/// Makes `images[..count]` hold the request's crops (buffers reused; `new` makes a missing one).
fn fill<'a, I: std::ops::DerefMut<Target = [u8]>>(
    images: &mut Vec<I>,
    count: usize,
    crop: impl Fn(usize) -> &'a [u8],
    new: impl Fn() -> I,
) {
    while images.len() < count {
        images.push(new());
    }
    for (i, image) in images.iter_mut().take(count).enumerate() {
        image.copy_from_slice(crop(i));
    }
}

/// The connection thread: keeps the connection, subscribes after each connect, and queues
/// the requests; it ends after the goodbye (a disconnect) or when stopped.
fn run_connection(
    mut connection: Connection,
    client: &Client,
    filter: &str,
    jobs: &Sender<Publish>,
    stop: &AtomicBool,
) {
    let mut error_log = RateLimited::new(Duration::from_secs(5));
    while !stop.load(Ordering::Relaxed) {
        match connection.recv_timeout(POLL) {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                tracing::info!("connected to the broker; subscribing to {filter}");
                if let Err(e) = client.try_subscribe(filter, QoS::AtLeastOnce) {
                    tracing::warn!("cannot subscribe to {filter}: {e}");
                }
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                // The receive maximum keeps the queue from filling; should it, the request is
                // acknowledged unanswered (the kiosk falls back at its deadline).
                if let Err(TrySendError::Full(p) | TrySendError::Disconnected(p)) = jobs.try_send(p) {
                    warn_limited!(error_log, "a request came with {WORKER_QUEUE} waiting: dropped");
                    let _ = client.try_ack(&p);
                }
            }
            Ok(Ok(Event::Incoming(Packet::SubAck(ack)))) => {
                if ack.return_codes.iter().all(|c| matches!(c, SubscribeReasonCode::Success(_))) {
                    tracing::info!("subscribed to {filter}");
                } else {
                    tracing::warn!("the broker refused the subscription to {filter}: {:?}", ack.return_codes);
                }
            }
            Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => break,
            Ok(Ok(_)) | Err(rumqttc::v5::RecvTimeoutError::Timeout) => {}
            Ok(Err(e)) => {
                warn_limited!(error_log, "broker connection: {e}; retrying");
                std::thread::sleep(super::RECONNECT_PAUSE);
            }
            Err(rumqttc::v5::RecvTimeoutError::Disconnected) => break,
        }
    }
}
