//! Kiosks and inference workers over an MQTT 5 broker: the settings, topics and connection
//! shared by the kiosk's [`client`] and the [`worker`], and the payload codec ([`wire`]).
//!
//! Topics (`<kiosk>` and `<worker>` are the broker user names, so the broker's ACL can tie
//! each client to its own topics; see deploy/mosquitto):
//! - `emoji-mirror/req/<kiosk>`: a kiosk's requests (face crops of one frame); workers read
//!   them through the shared subscription `$share/<group>/emoji-mirror/req/+`, so N workers
//!   split the load;
//! - `emoji-mirror/reply/<kiosk>`: the answers, sent to the request's MQTT 5 response topic
//!   with its correlation data;
//! - `emoji-mirror/status/<worker>`: a worker's load and health, retained; cleared when it
//!   stops and replaced by its last will when it dies.

pub mod client;
pub mod wire;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use rumqttc::Transport;
use rumqttc::v5::MqttOptions;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use client::RemoteClassifier;

/// First level of every topic.
pub const TOPIC_ROOT: &str = "emoji-mirror";
/// Default shared-subscription group of the workers.
pub const DEFAULT_GROUP: &str = "workers";
/// Default time a kiosk waits for an answer before it classifies locally, ms: a frame at
/// 15 fps lasts 67 ms; an answer later than a few frames is not worth waiting for.
pub const DEFAULT_DEADLINE_MS: u32 = 250;
/// Default time between two tries of the workers while a kiosk classifies locally, seconds.
pub const DEFAULT_RETRY_AFTER_S: f32 = 1.0;
/// MQTT port without TLS.
pub const MQTT_PORT: u16 = 1883;
/// MQTT port with TLS.
pub const MQTTS_PORT: u16 = 8883;
/// Keep-alive of every connection, seconds: a dead peer is noticed within 1.5x this.
pub const KEEP_ALIVE_S: u64 = 5;
/// Room for the MQTT header and properties on top of the payload, bytes.
pub const PACKET_OVERHEAD_BYTES: usize = 4096;
/// Pause between two connection attempts while the broker is away.
pub const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// Requests and publishes that may wait in the client's queue to the broker.
pub const CLIENT_QUEUE: usize = 64;

/// Errors of the remote classification.
#[derive(Debug, Error)]
pub enum RemoteError {
    #[error("broker URL '{url}': {reason} (expected mqtt://HOST:PORT or mqtts://HOST:PORT)")]
    Url { url: String, reason: String },
    #[error("{what} file {path}: cannot read it")]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the password file is empty")]
    EmptyPassword { path: PathBuf },
    #[error("{what} '{value}' cannot be part of a topic (no '/', '+', '#' or spaces)")]
    TopicName { what: &'static str, value: String },
    #[error("cannot send to the broker: {0}")]
    Send(String),
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    #[error(transparent)]
    Vision(#[from] crate::vision::VisionError),
}

/// `[broker]`: the broker a kiosk or a worker connects to (command-line options override it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrokerSettings {
    /// `mqtt://HOST:PORT` or `mqtts://HOST:PORT`; none: classify locally.
    pub url: Option<String>,
    /// User name; also the kiosk's or worker's id in its topics (see the module docs).
    pub user: Option<String>,
    /// A file holding the password (one line), readable by the service only.
    pub password_file: Option<PathBuf>,
    /// The CA certificate (PEM) that signed the broker's certificate (`mqtts://`);
    /// none: the system's roots.
    pub ca: Option<PathBuf>,
    /// The workers' shared-subscription group.
    pub group: String,
    /// How long a kiosk waits for an answer before it classifies locally, ms.
    pub deadline_ms: u32,
    /// While classifying locally, how often a kiosk tries the workers again, seconds.
    pub retry_after_s: f32,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            url: None,
            user: None,
            password_file: None,
            ca: None,
            group: DEFAULT_GROUP.into(),
            deadline_ms: DEFAULT_DEADLINE_MS,
            retry_after_s: DEFAULT_RETRY_AFTER_S,
        }
    }
}

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl BrokerUrl {
    /// Parses `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]`.
    pub fn parse(url: &str) -> Result<Self, RemoteError> {
        let bad = |reason: &str| RemoteError::Url { url: url.into(), reason: reason.into() };
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else {
            return Err(bad("unknown scheme"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| bad("bad port"))?),
            None => (rest, if tls { MQTTS_PORT } else { MQTT_PORT }),
        };
        if host.is_empty() || host.contains(['/', '@', '?']) {
            return Err(bad("bad host"));
        }
        Ok(Self { host: host.into(), port, tls })
    }
}

/// Checks that an id can be one level of a topic.
pub fn check_topic_level(what: &'static str, value: &str) -> Result<(), RemoteError> {
    if value.is_empty() || value.contains(['/', '+', '#', ' ', '\0']) {
        return Err(RemoteError::TopicName { what, value: value.into() });
    }
    Ok(())
}

/// The topic kiosk `kiosk` publishes its requests on.
pub fn request_topic(kiosk: &str) -> String {
    format!("{TOPIC_ROOT}/req/{kiosk}")
}

/// The topic kiosk `kiosk` reads its answers on.
pub fn reply_topic(kiosk: &str) -> String {
    format!("{TOPIC_ROOT}/reply/{kiosk}")
}

/// The retained status topic of worker `worker`.
pub fn status_topic(worker: &str) -> String {
    format!("{TOPIC_ROOT}/status/{worker}")
}

/// The workers' shared subscription to every kiosk's requests.
pub fn shared_request_filter(group: &str) -> String {
    format!("$share/{group}/{TOPIC_ROOT}/req/+")
}

/// Reads a password file: its first line, without the line end.
pub fn read_password(path: &Path) -> Result<String, RemoteError> {
    let text = std::fs::read_to_string(path).map_err(|source| RemoteError::ReadFile {
        what: "password",
        path: path.to_path_buf(),
        source,
    })?;
    let line = text.lines().next().unwrap_or_default().trim_end();
    if line.is_empty() {
        return Err(RemoteError::EmptyPassword { path: path.to_path_buf() });
    }
    Ok(line.to_string())
}

/// The client options for `settings` (URL, credentials, TLS) under `client_id`.
pub fn mqtt_options(settings: &BrokerSettings, client_id: &str) -> Result<MqttOptions, RemoteError> {
    let url = settings.url.as_deref().unwrap_or_default();
    let broker = BrokerUrl::parse(url)?;
    let mut options = MqttOptions::new(client_id, broker.host, broker.port);
    options
        .set_keep_alive(Duration::from_secs(KEEP_ALIVE_S))
        .set_clean_start(true)
        .set_request_channel_capacity(CLIENT_QUEUE)
        .set_max_packet_size(Some((wire::MAX_PAYLOAD_BYTES + PACKET_OVERHEAD_BYTES) as u32));
    if let Some(user) = &settings.user {
        let password = match &settings.password_file {
            Some(p) => read_password(p)?,
            None => String::new(),
        };
        options.set_credentials(user.clone(), password);
    }
    if broker.tls {
        install_crypto_provider();
        let transport = match &settings.ca {
            Some(path) => {
                let ca = std::fs::read(path).map_err(|source| RemoteError::ReadFile {
                    what: "CA certificate",
                    path: path.clone(),
                    source,
                })?;
                Transport::tls(ca, None, None)
            }
            None => Transport::tls_with_default_config(),
        };
        options.set_transport(transport);
    }
    Ok(options)
}

/// Makes ring the process's TLS provider (once; a provider already chosen stays).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Which classifier the kiosk uses now (shown in the app's help panel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassifierMode {
    /// No broker: the local model.
    Local,
    /// The workers answer.
    Remote,
    /// A broker is set but neither it nor a worker answers: the local model, until they do.
    Fallback,
}

impl ClassifierMode {
    /// A short line for the help panel.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Local => "local model",
            Self::Remote => "remote workers",
            Self::Fallback => "local model (workers unreachable: fallback)",
        }
    }
}

/// The process's current [`ClassifierMode`]: one engine classifies per process.
static MODE: AtomicU8 = AtomicU8::new(0);

/// The classifier in use now.
pub fn current_mode() -> ClassifierMode {
    match MODE.load(Ordering::Relaxed) {
        1 => ClassifierMode::Remote,
        2 => ClassifierMode::Fallback,
        _ => ClassifierMode::Local,
    }
}

fn set_mode(mode: ClassifierMode) {
    let v = match mode {
        ClassifierMode::Local => 0,
        ClassifierMode::Remote => 1,
        ClassifierMode::Fallback => 2,
    };
    MODE.store(v, Ordering::Relaxed);
}

/// The engine's classify step: the local model, or the workers with the local model as
/// fallback.
pub enum Classify {
    Local(Box<crate::vision::EmotionClassifier>),
    Remote(Box<RemoteClassifier>),
}

impl Classify {
    /// The local classifier, or a remote one when `broker` names a URL (then a local model is
    /// opened too when it can be, for the fallback; without it, frames the workers miss are
    /// skipped).
    pub fn open(
        env: &ort::environment::Environment,
        spec: &crate::vision::ClassifierSpec,
        broker: Option<&BrokerSettings>,
    ) -> Result<Self, RemoteError> {
        match broker.filter(|b| b.url.is_some()) {
            None => {
                set_mode(ClassifierMode::Local);
                Ok(Self::Local(Box::new(crate::vision::open_classifier(env, spec)?)))
            }
            Some(b) => Ok(Self::Remote(Box::new(RemoteClassifier::connect(env, spec, b)?))),
        }
    }

    pub fn labels(&self) -> &[String] {
        match self {
            Self::Local(c) => c.labels(),
            Self::Remote(r) => r.labels(),
        }
    }

    /// Valence/arousal of the faces of the latest call (as
    /// [`crate::vision::EmotionClassifier::affect`]); empty for the workers' answers,
    /// which carry probabilities only.
    pub fn affect(&self) -> &[crate::vision::affect::Point] {
        match self {
            Self::Local(c) => c.affect(),
            Self::Remote(_) => &[],
        }
    }

    /// Classifies every face of `frame` (as [`crate::vision::EmotionClassifier::classify_faces`]).
    pub fn classify_faces(
        &mut self,
        frame: &image::RgbImage,
        faces: &[crate::vision::Face],
        probs: &mut Vec<f32>,
    ) -> Result<(), RemoteError> {
        match self {
            Self::Local(c) => Ok(c.classify_faces(frame, faces, probs)?),
            Self::Remote(r) => r.classify_faces(frame, faces, probs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_default_ports() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:1999").expect("valid");
        assert_eq!(u, BrokerUrl { host: "127.0.0.1".into(), port: 1999, tls: false });
        assert_eq!(BrokerUrl::parse("mqtts://broker.local").expect("valid").port, MQTTS_PORT);
        assert_eq!(BrokerUrl::parse("mqtt://broker.local/").expect("valid").port, MQTT_PORT);
        for bad in ["http://x:1", "mqtt://", "mqtt://x:0", "mqtt://x:99999", "mqtt://u@x:1", "x:1"] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topics_and_topic_levels() {
        assert_eq!(request_topic("kiosk-1"), "emoji-mirror/req/kiosk-1");
        assert_eq!(reply_topic("kiosk-1"), "emoji-mirror/reply/kiosk-1");
        assert_eq!(shared_request_filter("g"), "$share/g/emoji-mirror/req/+");
        assert!(check_topic_level("kiosk id", "kiosk-1").is_ok());
        for bad in ["", "a/b", "a+", "#", "a b"] {
            assert!(check_topic_level("kiosk id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\n").expect("write");
        assert_eq!(read_password(&p).expect("read"), "s3cret");
        std::fs::write(&p, "\n").expect("write");
        assert!(matches!(read_password(&p), Err(RemoteError::EmptyPassword { .. })));
        let err = read_password(&dir.path().join("missing")).expect_err("missing");
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
