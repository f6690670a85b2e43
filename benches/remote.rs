//! Criterion benchmark of what a kiosk adds per frame by classifying on remote workers:
//! the payload codec alone, and a whole round trip (crop cutting, encoding, a local Mosquitto
//! broker, decoding) against an in-process responder that answers without inference, so the
//! figure is the transport's overhead, not the model's time.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use emoji_mirror::remote::wire::{self, CropShape};
use emoji_mirror::remote::{BrokerSettings, RemoteClassifier};
use emoji_mirror::vision::{BBox, Face, LANDMARKS};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{Client, Event};

/// Faces per frame in the benchmark.
const FACES: usize = 3;
/// The classifier's crops: gray 48 x 48.
const SHAPE: CropShape = CropShape { width: 48, height: 48, channels: 1 };
/// Classes per face.
const CLASSES: usize = 7;

fn codec(c: &mut Criterion) {
    let pixels = vec![100u8; FACES * SHAPE.bytes()];
    let probs = vec![1.0 / CLASSES as f32; FACES * CLASSES];
    let (mut req, mut rep, mut out) = (Vec::new(), Vec::new(), Vec::new());
    let mut group = c.benchmark_group("remote_codec");
    group.bench_function("request_3_faces_encode_decode", |b| {
        b.iter(|| {
            wire::encode_request(&mut req, SHAPE, FACES, 1, 250, &pixels).expect("encodes");
            std::hint::black_box(wire::decode_request(&req).expect("decodes").count)
        })
    });
    group.bench_function("reply_3_faces_encode_decode", |b| {
        b.iter(|| {
            wire::encode_reply(&mut rep, "m", 1, CLASSES, 1, &probs).expect("encodes");
            std::hint::black_box(wire::decode_reply(&rep, &mut out).expect("decodes").count)
        })
    });
    group.finish();
}

/// A Mosquitto on a free loopback port (anonymous, the 2.x default on localhost).
fn broker() -> Option<(Child, u16)> {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).ok()?.port();
    let child = ["mosquitto", "/usr/sbin/mosquitto"].iter().find_map(|p| {
        Command::new(p).args(["-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()
    })?;
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(5) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, port))
}

/// Answers every request with uniform probabilities, as a worker would but without a model.
fn responder(settings: &BrokerSettings, labels_hash: u64) {
    let options = emoji_mirror::remote::mqtt_options(settings, "bench-responder").expect("options");
    let (client, mut connection) = Client::new(options, 64);
    std::thread::spawn(move || {
        let mut reply = Vec::new();
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_subscribe("emoji-mirror/req/+", QoS::AtLeastOnce);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let Ok(req) = wire::decode_request(&p.payload) else { continue };
                    let probs = vec![1.0 / CLASSES as f32; req.count * CLASSES];
                    let Some(props) = p.properties else { continue };
                    let _ = wire::encode_reply(&mut reply, "bench", labels_hash, CLASSES, req.frame_id, &probs);
                    let answer = PublishProperties { correlation_data: props.correlation_data, ..Default::default() };
                    if let Some(topic) = props.response_topic {
                        let _ =
                            client.try_publish_with_properties(topic, QoS::AtLeastOnce, false, reply.clone(), answer);
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
}

fn round_trip(c: &mut Criterion) {
    let Some((mut child, port)) = broker() else {
        eprintln!("remote_round_trip skipped: mosquitto is not installed (scripts/setup.sh)");
        return;
    };
    let env = emoji_mirror::runtime::environment(None).expect("ONNX Runtime (scripts/setup.sh)");
    let spec = emoji_mirror::compose::classifier_spec(&emoji_mirror::config::Settings::default());
    let settings = BrokerSettings {
        url: Some(format!("mqtt://127.0.0.1:{port}")),
        user: Some("bench-kiosk".into()),
        ..BrokerSettings::default()
    };
    let mut kiosk = RemoteClassifier::connect(env, &spec, &settings).expect("kiosk");
    responder(&settings, wire::labels_hash(kiosk.labels()));
    std::thread::sleep(Duration::from_millis(500));
    let frame = image::RgbImage::from_pixel(640, 480, image::Rgb([90, 100, 110]));
    let faces: Vec<Face> = (0..FACES)
        .map(|i| Face {
            bbox_in_frame: BBox::new(50.0 + 150.0 * i as f32, 100.0, 120.0, 120.0),
            landmarks_in_frame: [[0.0; 2]; LANDMARKS],
            score: 1.0,
        })
        .collect();
    let mut probs = Vec::new();
    let mut group = c.benchmark_group("remote_round_trip");
    group.bench_function("3_faces_via_broker_no_inference", |b| {
        b.iter(|| {
            kiosk.classify_faces(&frame, &faces, &mut probs).expect("classified");
            std::hint::black_box(probs.len())
        })
    });
    group.finish();
    let counters = kiosk.counters();
    eprintln!("{}", counters.summary());
    drop(kiosk);
    let _ = child.kill();
    let _ = child.wait();
}

criterion_group!(benches, codec, round_trip);
criterion_main!(benches);
