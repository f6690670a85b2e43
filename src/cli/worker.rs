//! `worker`: an inference worker for kiosks over an MQTT 5 broker, and the broker options
//! that `predict`, the app and the worker share.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;

use emoji_mirror::compose;
use emoji_mirror::remote::{self, BrokerSettings};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror worker --broker mqtt://127.0.0.1:1883
  emoji-mirror worker --broker mqtts://broker.local:8883 --broker-ca ca.crt \\
                      --broker-user worker-1 --broker-password-file /etc/emoji-mirror/worker-1.pw
  emoji-mirror predict --video clip.mp4 --broker mqtt://127.0.0.1:1883   # a kiosk using the workers

Workers subscribe to every kiosk's requests through a shared subscription: start as many as
the load needs, on any machine. SIGTERM stops one after it has answered what it holds.";

/// The broker a kiosk or worker connects to (each option overrides the settings file's
/// `[broker]` section).
#[derive(Debug, Args, Default, Clone)]
pub struct BrokerArgs {
    /// Classify on remote workers through this MQTT 5 broker: mqtt://HOST:PORT or
    /// mqtts://HOST:PORT (TLS); the local model takes over when they do not answer in time.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Broker user name; also this kiosk's or worker's id in its topics.
    #[arg(long, value_name = "NAME")]
    pub broker_user: Option<String>,
    /// File holding the broker password (first line).
    #[arg(long, value_name = "FILE")]
    pub broker_password_file: Option<std::path::PathBuf>,
    /// CA certificate (PEM) of the broker's TLS certificate (mqtts://).
    #[arg(long, value_name = "FILE")]
    pub broker_ca: Option<std::path::PathBuf>,
    /// Milliseconds a kiosk waits for the workers' answer before it classifies locally
    /// (default 250).
    #[arg(long, value_name = "MS")]
    pub broker_deadline_ms: Option<u32>,
}

impl BrokerArgs {
    /// Puts the options given over `settings`.
    pub fn apply(&self, settings: &mut BrokerSettings) {
        if let Some(v) = &self.broker {
            settings.url = Some(v.clone());
        }
        if let Some(v) = &self.broker_user {
            settings.user = Some(v.clone());
        }
        if let Some(v) = &self.broker_password_file {
            settings.password_file = Some(v.clone());
        }
        if let Some(v) = &self.broker_ca {
            settings.ca = Some(v.clone());
        }
        if let Some(v) = self.broker_deadline_ms {
            settings.deadline_ms = v;
        }
    }
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// The workers' shared-subscription group (default "workers").
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// This worker's id in its status topic (default: the broker user, else worker-<pid>).
    #[arg(long, value_name = "NAME")]
    pub id: Option<String>,
}

pub fn run(args: &WorkerArgs, common: &super::CommonArgs) -> anyhow::Result<()> {
    let mut settings = super::resolve(common, &super::DetectorArgs::default().overrides(common), false)?;
    args.broker.apply(&mut settings.broker);
    if let Some(g) = &args.group {
        settings.broker.group = g.clone();
    }
    anyhow::ensure!(
        settings.broker.url.is_some(),
        "a worker needs a broker: --broker mqtt://HOST:PORT, or url in the settings file's [broker]"
    );
    let id = args
        .id
        .clone()
        .or_else(|| settings.broker.user.clone())
        .unwrap_or_else(|| format!("worker-{}", std::process::id()));
    let env = super::ort_environment(&settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| anyhow::anyhow!("cannot watch for signal {signal}: {e}"))?;
    }
    let summary = remote::worker::run(env, &compose::classifier_spec(&settings), &settings.broker, &id, &stop)?;
    eprintln!(
        "worker {id}: {} request(s) answered, {} crop(s), {} bad request(s)",
        summary.answered, summary.crops, summary.bad
    );
    Ok(())
}
