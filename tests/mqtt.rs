//! Kiosks and inference workers over a real MQTT 5 broker: each test starts its own
//! Mosquitto on a free loopback port (users, passwords and the ACL of deploy/mosquitto), its
//! workers (the `worker` command), and stops them. Mosquitto must be installed
//! (scripts/setup.sh installs it): without it these tests fail and say so.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use emoji_mirror::remote::client::crop_shape;
use emoji_mirror::remote::wire;
use emoji_mirror::remote::{BrokerSettings, ClassifierMode, RemoteClassifier, current_mode};
use emoji_mirror::vision::manifest::ClassifierManifest;
use emoji_mirror::vision::{BBox, ClassifierSpec, Face, LANDMARKS};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{Client, ConnectionError, Event};

/// The tests share one slow machine: one broker scenario at a time.
static SERIAL: Mutex<()> = Mutex::new(());
/// The users of the test broker; each one's password is `<user>-pw`.
const USERS: [&str; 4] = ["kiosk-1", "kiosk-2", "worker-1", "worker-2"];
/// Longest wait for a worker to load its model and subscribe.
const WORKER_READY: Duration = Duration::from_secs(90);
/// Share of faces the workers must label as the local model does, percent.
const MIN_SAME_LABEL_PERCENT: usize = 97;
/// Longest wait for the broker to accept connections.
const BROKER_READY: Duration = Duration::from_secs(10);

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The mosquitto program, or a failure that says how to get it.
fn mosquitto() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("mosquitto is not installed (Debian package `mosquitto`): run scripts/setup.sh; the MQTT tests need a real broker")
        })
}

/// A Mosquitto of our own on a free loopback port, stopped on drop.
struct Broker {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// The CA of the broker's certificate, when it listens with TLS only.
    ca: Option<PathBuf>,
}

impl Broker {
    fn start() -> Self {
        Self::start_with(None)
    }

    /// A broker that listens with TLS only, with the certificates that
    /// scripts/make-test-certs.sh wrote to `certs`.
    fn start_tls(certs: &std::path::Path) -> Self {
        Self::start_with(Some(certs))
    }

    fn start_with(certs: Option<&std::path::Path>) -> Self {
        let program = mosquitto();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let passwd = dir.path().join("passwd");
        let passwd_tool = program.with_file_name("mosquitto_passwd");
        let passwd_tool = if passwd_tool.is_file() { passwd_tool } else { PathBuf::from("mosquitto_passwd") };
        for (i, user) in USERS.iter().enumerate() {
            let mut c = Command::new(&passwd_tool);
            if i == 0 {
                c.arg("-c");
            }
            let ok = c.arg("-b").arg(&passwd).arg(user).arg(format!("{user}-pw")).status();
            assert!(ok.is_ok_and(|s| s.success()), "mosquitto_passwd failed for {user}");
            std::fs::write(dir.path().join(format!("{user}.pw")), format!("{user}-pw\n")).expect("password file");
        }
        // The ACL shipped in deploy/mosquitto, as it is.
        let acl = common::project("deploy/mosquitto/acl");
        // Run as root, mosquitto would switch to its own user, which cannot read the temp dir.
        let me = Command::new("id").arg("-un").output().map(|o| common::stdout(&o).trim().to_string());
        let tls = certs.map_or_else(String::new, |c| {
            format!(
                "certfile {}\nkeyfile {}\ntls_version tlsv1.2\n",
                c.join("server.crt").display(),
                c.join("server.key").display()
            )
        });
        let conf = format!(
            "listener {port} 127.0.0.1\n{tls}allow_anonymous false\npassword_file {}\nacl_file {}\npersistence false\n\
             max_packet_size 1052672\nlog_dest stderr\nuser {}\n",
            passwd.display(),
            acl.display(),
            me.unwrap_or_else(|_| "root".into())
        );
        std::fs::write(dir.path().join("mosquitto.conf"), conf).expect("config");
        let ca = certs.map(|c| c.join("ca.crt"));
        let mut broker = Self { dir, port, child: None, ca };
        broker.spawn();
        broker
    }

    /// Starts mosquitto (again) on the same port and waits until it accepts connections.
    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).expect("log file");
        let child = Command::new(mosquitto())
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < BROKER_READY, "mosquitto did not listen on {}: {}", self.port, self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "mqtts" } else { "mqtt" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    fn password_file(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("{user}.pw"))
    }

    /// Broker settings for `user` with its password.
    fn settings(&self, user: &str) -> BrokerSettings {
        BrokerSettings {
            url: Some(self.url()),
            user: Some(user.into()),
            password_file: Some(self.password_file(user)),
            ca: self.ca.clone(),
            ..BrokerSettings::default()
        }
    }

    /// Starts a `worker` process as `user` and waits until it has subscribed.
    fn worker(&self, user: &str) -> Worker {
        let log_path = self.dir.path().join(format!("{user}.log"));
        let log = std::fs::File::create(&log_path).expect("worker log");
        let mut command = common::command();
        command
            .args(["worker", "--broker", &self.url(), "--broker-user", user, "--broker-password-file"])
            .arg(self.password_file(user));
        if let Some(ca) = &self.ca {
            command.arg("--broker-ca").arg(ca);
        }
        let child = command
            .env("RUST_LOG", "emoji_mirror=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the worker starts");
        let worker = Worker { child, log: log_path };
        let started = Instant::now();
        while !worker.log().contains("subscribed to") {
            assert!(started.elapsed() < WORKER_READY, "worker {user} did not subscribe: {}", worker.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        worker
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A worker process, killed on drop.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn classifier_spec() -> ClassifierSpec {
    let settings = emoji_mirror::config::Settings::default();
    emoji_mirror::compose::classifier_spec(&settings)
}

/// A picture and three face boxes in it (any region classifies).
fn frame_and_faces() -> (image::RgbImage, Vec<Face>) {
    let frame = image::open(common::project("assets/astronaut.png")).expect("the sample picture").to_rgb8();
    let face = |x: f32, y: f32, side: f32| Face {
        bbox_in_frame: BBox::new(x, y, side, side),
        landmarks_in_frame: [[0.0; 2]; LANDMARKS],
        score: 1.0,
    };
    (frame, vec![face(10.0, 10.0, 80.0), face(100.0, 40.0, 60.0), face(50.0, 120.0, 100.0)])
}

/// Label of each text line of `predict` (`00:00:01 : Happy , 93%`).
fn labels(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.split(" : ").nth(1))
        .map(|r| r.split(" , ").next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn predict_over_the_broker_gives_the_local_labels() {
    let _serial = serial();
    let video = common::data("openmpf-samples/video_01.mp4");
    let video = video.to_str().expect("UTF-8 path");
    let local = common::run(&["predict", "--video", video, "--every-frame"]);
    assert!(local.status.success(), "{}", common::stderr(&local));
    let broker = Broker::start();
    let _worker = broker.worker("worker-1");
    let pw = broker.password_file("kiosk-1");
    let remote = common::command()
        .args(["predict", "--video", video, "--every-frame", "--broker", &broker.url(), "--broker-user", "kiosk-1"])
        .args(["--broker-deadline-ms", "10000", "--broker-password-file"])
        .arg(&pw)
        .env("RUST_LOG", "emoji_mirror::remote=info")
        .output()
        .expect("predict runs");
    let err = common::stderr(&remote);
    assert!(remote.status.success(), "{err}");
    let (local, remote) = (labels(&common::stdout(&local)), labels(&common::stdout(&remote)));
    assert!(local.len() >= 90, "a line per face per frame: {local:?}");
    // The crops travel as 8-bit pixels while the local model samples the frame in floating
    // point: a face whose two best classes are nearly tied may come out the other way.
    assert_eq!(local.len(), remote.len(), "a line per face per frame both ways");
    let same = local.iter().zip(&remote).filter(|(a, b)| a == b).count();
    assert!(same * 100 >= local.len() * MIN_SAME_LABEL_PERCENT, "{same} of {} labels agree", local.len());
    // Every frame with faces went to the workers; none was classified locally.
    assert!(err.contains(" classified locally (fallback)"), "{err}");
    assert!(err.contains(", 0 classified locally"), "{err}");
    assert!(!err.contains(" 0 frame(s) answered by workers"), "{err}");
}

#[test]
fn wrong_credentials_are_refused() {
    let _serial = serial();
    let broker = Broker::start();
    for (user, password) in [("kiosk-1", "wrong"), ("nobody", "nobody-pw")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, password).expect("password file");
        let settings =
            BrokerSettings { user: Some(user.into()), password_file: Some(pw), ..broker.settings("kiosk-1") };
        let options = emoji_mirror::remote::mqtt_options(&settings, user).expect("options");
        let (_client, mut connection) = Client::new(options, 10);
        let refused = connection.recv_timeout(Duration::from_secs(10));
        assert!(
            matches!(refused, Ok(Err(ConnectionError::ConnectionRefused(_)))),
            "{user} with a wrong password: {refused:?}"
        );
    }
    // The right password is accepted.
    let options = emoji_mirror::remote::mqtt_options(&broker.settings("kiosk-1"), "kiosk-1").expect("options");
    let (_client, mut connection) = Client::new(options, 10);
    let accepted = connection.recv_timeout(Duration::from_secs(10));
    assert!(matches!(accepted, Ok(Ok(Event::Incoming(Packet::ConnAck(_))))), "{accepted:?}");
}

/// A raw MQTT client of the test broker, its packets on a channel.
fn raw_client(broker: &Broker, user: &str) -> (Client, crossbeam_channel::Receiver<Packet>) {
    let options = emoji_mirror::remote::mqtt_options(&broker.settings(user), user).expect("options");
    let (client, mut connection) = Client::new(options, 10);
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(p)) => {
                    if tx.send(p).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let connack = rx.recv_timeout(Duration::from_secs(10));
    assert!(matches!(connack, Ok(Packet::ConnAck(_))), "{user}: {connack:?}");
    (client, rx)
}

/// Waits for the next message published to this client, if one comes within `wait`.
fn next_publish(
    rx: &crossbeam_channel::Receiver<Packet>,
    wait: Duration,
) -> Option<rumqttc::v5::mqttbytes::v5::Publish> {
    let until = Instant::now() + wait;
    while let Ok(p) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
        if let Packet::Publish(p) = p {
            return Some(p);
        }
    }
    None
}

#[test]
fn a_kiosk_cannot_read_another_kiosks_replies_or_requests() {
    let _serial = serial();
    let broker = Broker::start();
    let _worker = broker.worker("worker-1");
    let (kiosk1, rx1) = raw_client(&broker, "kiosk-1");
    let (kiosk2, rx2) = raw_client(&broker, "kiosk-2");
    // kiosk-2 listens where it must not: kiosk-1's answers and every request.
    for filter in ["emoji-mirror/reply/kiosk-1", "emoji-mirror/req/+", "$share/workers/emoji-mirror/req/+"] {
        kiosk2.subscribe(filter, QoS::AtLeastOnce).expect("subscribe queued");
    }
    kiosk1.subscribe("emoji-mirror/reply/kiosk-1", QoS::AtLeastOnce).expect("subscribe queued");
    std::thread::sleep(Duration::from_millis(500));
    let manifest = ClassifierManifest::load(&classifier_spec().manifest).expect("manifest");
    let shape = crop_shape(&manifest);
    let mut request = Vec::new();
    wire::encode_request(&mut request, shape, 1, 7, 1000, &vec![128; shape.bytes()]).expect("request");
    let send = |client: &Client, topic: &str, reply_to: &str, id: u8| {
        let properties = PublishProperties {
            response_topic: Some(reply_to.into()),
            correlation_data: Some(vec![id; 8].into()),
            ..PublishProperties::default()
        };
        client.publish_with_properties(topic, QoS::AtLeastOnce, false, request.clone(), properties).expect("queued");
    };
    send(&kiosk1, "emoji-mirror/req/kiosk-1", "emoji-mirror/reply/kiosk-1", 1);
    let answer = next_publish(&rx1, Duration::from_secs(30)).expect("kiosk-1 gets its answer");
    assert_eq!(answer.properties.and_then(|p| p.correlation_data).as_deref(), Some(&[1u8; 8][..]));
    let mut probs = Vec::new();
    let reply = wire::decode_reply(&answer.payload, &mut probs).expect("a valid answer");
    assert_eq!((reply.frame_id, reply.count, probs.len()), (7, 1, manifest.labels.len()));
    // kiosk-2 may neither publish on kiosk-1's request topic nor aim answers at kiosk-1.
    send(&kiosk2, "emoji-mirror/req/kiosk-1", "emoji-mirror/reply/kiosk-2", 2);
    send(&kiosk2, "emoji-mirror/req/kiosk-2", "emoji-mirror/reply/kiosk-1", 3);
    let leaked = next_publish(&rx2, Duration::from_secs(3));
    assert!(leaked.is_none(), "kiosk-2 read {:?}", leaked.map(|p| p.topic));
    let stray = next_publish(&rx1, Duration::from_millis(500));
    assert!(stray.is_none(), "kiosk-1 got an answer it did not ask for: {stray:?}");
}

/// Classifies `n` frames through `kiosk`; every call must give probabilities for every face.
fn classify_n(kiosk: &mut RemoteClassifier, n: usize, frame: &image::RgbImage, faces: &[Face]) {
    let classes = kiosk.labels().len();
    let mut probs = Vec::new();
    for i in 0..n {
        kiosk.classify_faces(frame, faces, &mut probs).unwrap_or_else(|e| panic!("frame {i}: {e}"));
        assert_eq!(probs.len(), faces.len() * classes, "frame {i}");
    }
}

#[test]
fn killing_one_of_two_workers_loses_no_request() {
    let _serial = serial();
    let broker = Broker::start();
    let mut worker1 = broker.worker("worker-1");
    let _worker2 = broker.worker("worker-2");
    let env = common::ort_env();
    let settings = BrokerSettings { deadline_ms: 2000, retry_after_s: 0.2, ..broker.settings("kiosk-1") };
    let mut kiosk = RemoteClassifier::connect(env, &classifier_spec(), &settings).expect("kiosk");
    let counters = kiosk.counters();
    let (frame, faces) = frame_and_faces();
    classify_n(&mut kiosk, 30, &frame, &faces);
    let answered_before = counters.answered.load(Ordering::Relaxed);
    assert!(answered_before >= 29, "{}", counters.summary());
    worker1.kill();
    classify_n(&mut kiosk, 30, &frame, &faces);
    let (answered, fallback) = (counters.answered.load(Ordering::Relaxed), counters.fallback.load(Ordering::Relaxed));
    // Every frame was answered by a worker or by the local model; the survivor took over.
    assert_eq!(answered + fallback, 60, "{}", counters.summary());
    assert!(answered >= answered_before + 25, "worker-2 took over: {}", counters.summary());
    assert_eq!(counters.unknown.load(Ordering::Relaxed), 0, "{}", counters.summary());
}

#[test]
fn a_stopped_worker_clears_its_status_and_answers_what_it_held() {
    let _serial = serial();
    let broker = Broker::start();
    let mut worker = broker.worker("worker-1");
    let (kiosk, rx) = raw_client(&broker, "kiosk-1");
    kiosk.subscribe("emoji-mirror/status/+", QoS::AtLeastOnce).expect("subscribe queued");
    let status = next_publish(&rx, Duration::from_secs(10)).expect("a retained status");
    let text = String::from_utf8_lossy(&status.payload).into_owned();
    assert!(status.retain && text.contains("\"state\":\"ready\""), "{text}");
    // SIGTERM: the worker drains, clears its retained status and exits cleanly.
    let pid = worker.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(killed.success());
    let status = wait_exit(&mut worker.child, Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{}", worker.log());
    assert!(worker.log().contains("request(s) answered"), "{}", worker.log());
    let mut cleared = false;
    while let Some(p) = next_publish(&rx, Duration::from_secs(3)) {
        cleared |= p.payload.is_empty();
    }
    assert!(cleared, "the status was cleared");
}

fn wait_exit(child: &mut Child, wait: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Longest wait for a kiosk and its worker to come back after the broker restarted.
const RECOVERY: Duration = Duration::from_secs(30);

#[test]
fn after_a_broker_restart_the_kiosk_switches_back_to_the_workers() {
    let _serial = serial();
    let mut broker = Broker::start();
    let worker = broker.worker("worker-1");
    let env = common::ort_env();
    let settings = BrokerSettings { deadline_ms: 1000, retry_after_s: 0.2, ..broker.settings("kiosk-1") };
    let mut kiosk = RemoteClassifier::connect(env, &classifier_spec(), &settings).expect("kiosk");
    let counters = kiosk.counters();
    let (frame, faces) = frame_and_faces();
    classify_n(&mut kiosk, 5, &frame, &faces);
    assert_eq!(counters.answered.load(Ordering::Relaxed), 5, "{}", counters.summary());
    assert_eq!(current_mode(), ClassifierMode::Remote);

    // The broker goes away: every frame is still classified, by the local model.
    broker.stop();
    classify_n(&mut kiosk, 5, &frame, &faces);
    assert_eq!(current_mode(), ClassifierMode::Fallback, "{}", counters.summary());
    let answered_while_away = counters.answered.load(Ordering::Relaxed);
    assert!(counters.fallback.load(Ordering::Relaxed) >= 4, "{}", counters.summary());

    // The broker comes back on the same port: the kiosk and the worker reconnect and
    // subscribe again, and the workers answer again.
    broker.spawn();
    let started = Instant::now();
    while current_mode() != ClassifierMode::Remote {
        assert!(
            started.elapsed() < RECOVERY,
            "no switch back to the workers: {}\nworker: {}\nbroker: {}",
            counters.summary(),
            worker.log(),
            broker.log()
        );
        classify_n(&mut kiosk, 1, &frame, &faces);
        std::thread::sleep(Duration::from_millis(100));
    }
    classify_n(&mut kiosk, 5, &frame, &faces);
    let answered = counters.answered.load(Ordering::Relaxed);
    assert_eq!(answered, answered_while_away + 5, "the workers answer again: {}", counters.summary());
    assert_eq!(current_mode(), ClassifierMode::Remote);
    assert_eq!(counters.unknown.load(Ordering::Relaxed), 0, "{}", counters.summary());
}

/// Test certificates made by scripts/make-test-certs.sh in a new temp dir.
fn make_test_certs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = Command::new("bash")
        .arg(common::project("scripts/make-test-certs.sh"))
        .arg(dir.path())
        .output()
        .expect("make-test-certs.sh runs");
    assert!(made.status.success(), "make-test-certs.sh: {}", common::stderr(&made));
    dir
}

#[test]
fn kiosks_and_workers_talk_over_tls_and_another_ca_is_refused() {
    let _serial = serial();
    let certs = make_test_certs();
    let broker = Broker::start_tls(certs.path());
    assert!(broker.url().starts_with("mqtts://"), "{}", broker.url());
    let _worker = broker.worker("worker-1");
    let env = common::ort_env();
    let settings = BrokerSettings { deadline_ms: 10_000, ..broker.settings("kiosk-1") };
    let (frame, faces) = frame_and_faces();
    let classes;
    let mut remote_probs = Vec::new();
    {
        let mut kiosk = RemoteClassifier::connect(env, &classifier_spec(), &settings).expect("kiosk");
        let counters = kiosk.counters();
        classes = kiosk.labels().len();
        kiosk.classify_faces(&frame, &faces, &mut remote_probs).expect("classified");
        classify_n(&mut kiosk, 2, &frame, &faces);
        assert_eq!(counters.answered.load(Ordering::Relaxed), 3, "{}", counters.summary());
        assert_eq!(counters.fallback.load(Ordering::Relaxed), 0, "{}", counters.summary());
    }
    // The workers' labels are the local model's.
    let mut local = emoji_mirror::vision::open_classifier(env, &classifier_spec()).expect("local model");
    let mut local_probs = Vec::new();
    local.classify_faces(&frame, &faces, &mut local_probs).expect("classified locally");
    let best = |p: &[f32]| p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
    let remote_labels: Vec<_> = remote_probs.chunks(classes).map(best).collect();
    let local_labels: Vec<_> = local_probs.chunks(classes).map(best).collect();
    assert_eq!(remote_labels, local_labels);

    // A client that trusts another CA refuses the broker's certificate, and says why.
    let other = make_test_certs();
    let settings = BrokerSettings { ca: Some(other.path().join("ca.crt")), ..broker.settings("kiosk-1") };
    let options = emoji_mirror::remote::mqtt_options(&settings, "kiosk-1").expect("options");
    let (_client, mut connection) = Client::new(options, 10);
    let refused = connection.recv_timeout(Duration::from_secs(10));
    let Ok(Err(e)) = refused else { panic!("a broker certificate from another CA was accepted: {refused:?}") };
    let text = format!("{e}: {e:?}");
    assert!(matches!(e, ConnectionError::Tls(_)), "{text}");
    // Both test CAs have the same name: the broker's certificate names its issuer, whose
    // signature then does not check out.
    assert!(text.contains("invalid peer certificate"), "{text}");
    // Without TLS, the TLS listener does not talk MQTT at all.
    let plain = BrokerSettings { url: Some(format!("mqtt://127.0.0.1:{}", broker.port)), ..broker.settings("kiosk-1") };
    let options = emoji_mirror::remote::mqtt_options(&plain, "kiosk-1").expect("options");
    let (_client, mut connection) = Client::new(options, 10);
    let plain = connection.recv_timeout(Duration::from_secs(10));
    assert!(!matches!(plain, Ok(Ok(Event::Incoming(Packet::ConnAck(_))))), "{plain:?}");
}
