//! `loadgen` (hidden): K simulated kiosks send face crops at a steady rate to the workers
//! behind a broker, and the round trips are measured (requests/s, p50/p95/p99, lost).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{Client, Event};

use emoji_mirror::compose;
use emoji_mirror::remote::{self, client::crop_shape, wire};
use emoji_mirror::vision::manifest::ClassifierManifest;

#[derive(Debug, Args)]
pub struct LoadgenArgs {
    #[command(flatten)]
    pub broker: super::worker::BrokerArgs,
    /// Simulated kiosks (each its own connection and topics: loadgen-1, loadgen-2, ...).
    #[arg(long, value_name = "K", default_value_t = 4)]
    pub kiosks: usize,
    /// Requests per second per kiosk.
    #[arg(long, value_name = "HZ", default_value_t = 10.0)]
    pub rate: f64,
    /// Faces per request.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub faces: usize,
    /// How long to send, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub seconds: f64,
}

/// One kiosk's results: round trips of the answered requests (ms) and the count sent.
struct KioskResult {
    sent: usize,
    round_trips_ms: Vec<f64>,
}

pub fn run(args: &LoadgenArgs, common: &super::CommonArgs) -> anyhow::Result<()> {
    let mut settings = super::resolve(common, &super::DetectorArgs::default().overrides(common), false)?;
    args.broker.apply(&mut settings.broker);
    anyhow::ensure!(settings.broker.url.is_some(), "loadgen needs --broker URL");
    anyhow::ensure!(args.rate > 0.0 && args.seconds > 0.0, "--rate and --seconds must be above 0");
    let manifest = ClassifierManifest::load(&compose::classifier_spec(&settings).manifest)?;
    let shape = crop_shape(&manifest);
    let mut payload = Vec::new();
    let pixels: Vec<u8> = (0..args.faces * shape.bytes()).map(|i| (i % 251) as u8).collect();
    wire::encode_request(&mut payload, shape, args.faces, 0, settings.broker.deadline_ms, &pixels)?;
    let deadline = Duration::from_millis(u64::from(settings.broker.deadline_ms));
    let started = Instant::now();
    let threads: Vec<_> = (1..=args.kiosks)
        .map(|k| {
            let (broker, payload) = (settings.broker.clone(), payload.clone());
            let (rate, seconds) = (args.rate, args.seconds);
            std::thread::spawn(move || kiosk(k, &broker, &payload, rate, seconds, deadline))
        })
        .collect();
    let mut sent = 0;
    let mut trips = Vec::new();
    for t in threads {
        let r = t.join().map_err(|_| anyhow::anyhow!("a kiosk thread panicked"))??;
        sent += r.sent;
        trips.extend(r.round_trips_ms);
    }
    let secs = started.elapsed().as_secs_f64();
    trips.sort_by(f64::total_cmp);
    let pct = |p: f64| trips.get(((trips.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    println!(
        "kiosks {} x {:.1}/s, {} face(s) per request: sent {sent}, answered {} ({:.1} requests/s), lost {}, \
         round trip p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        args.kiosks,
        args.rate,
        args.faces,
        trips.len(),
        trips.len() as f64 / secs,
        sent - trips.len(),
        pct(0.5),
        pct(0.95),
        pct(0.99)
    );
    Ok(())
}

/// One simulated kiosk: sends at `rate` for `seconds`, then waits `deadline` for the last answers.
fn kiosk(
    k: usize,
    broker: &remote::BrokerSettings,
    payload: &[u8],
    rate: f64,
    seconds: f64,
    deadline: Duration,
) -> anyhow::Result<KioskResult> {
    let id = broker.user.clone().map_or_else(|| format!("loadgen-{k}"), |u| format!("{u}-{k}"));
    let options = remote::mqtt_options(broker, &id)?;
    let (client, mut connection) = Client::new(options, remote::CLIENT_QUEUE);
    let reply_topic = remote::reply_topic(&id);
    let sent_at = Arc::new(std::sync::Mutex::new(Vec::<Option<Instant>>::new()));
    let trips = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let receiver = {
        let (client, topic, sent_at, trips, stop) =
            (client.clone(), reply_topic.clone(), sent_at.clone(), trips.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match connection.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                        let _ = client.try_subscribe(topic.as_str(), QoS::AtLeastOnce);
                    }
                    Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                        let _ = ready_tx.try_send(());
                    }
                    Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                        let now = Instant::now();
                        let corr = p.properties.and_then(|pr| pr.correlation_data);
                        let Some(i) = corr.and_then(|c| <[u8; 8]>::try_from(c.as_ref()).ok()).map(u64::from_le_bytes)
                        else {
                            continue;
                        };
                        let sent = sent_at.lock().ok().and_then(|mut s| s.get_mut(i as usize).and_then(Option::take));
                        if let Some(at) = sent.filter(|at| now.duration_since(*at) <= deadline)
                            && let Ok(mut t) = trips.lock()
                        {
                            t.push(now.duration_since(at).as_secs_f64() * 1000.0);
                        }
                    }
                    Ok(Ok(_)) | Err(rumqttc::v5::RecvTimeoutError::Timeout) => {}
                    Ok(Err(_)) => std::thread::sleep(remote::RECONNECT_PAUSE),
                    Err(rumqttc::v5::RecvTimeoutError::Disconnected) => break,
                }
            }
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| anyhow::anyhow!("kiosk {id}: no subscription within 10 s"))?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let n = (seconds * rate).round() as usize;
    let start = Instant::now();
    for i in 0..n {
        let due = start + interval.mul_f64(i as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if let Ok(mut s) = sent_at.lock() {
            s.push(Some(Instant::now()));
        }
        let properties = PublishProperties {
            response_topic: Some(reply_topic.clone()),
            correlation_data: Some((i as u64).to_le_bytes().to_vec().into()),
            ..PublishProperties::default()
        };
        client.publish_with_properties(
            remote::request_topic(&id),
            QoS::AtLeastOnce,
            false,
            payload.to_vec(),
            properties,
        )?;
    }
    std::thread::sleep(deadline + Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let _ = client.try_disconnect();
    let _ = receiver.join();
    let round_trips_ms = trips.lock().map(|t| t.clone()).unwrap_or_default();
    Ok(KioskResult { sent: n, round_trips_ms })
}
