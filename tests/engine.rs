//! The analysis engine on real video: newest-only delivery drops stale results, pause
//! stops the source, a detector switch is reported, and a repeating video starts again
//! with fresh tracks but ids that go on counting.

mod common;

use std::time::{Duration, Instant};

use emoji_mirror::compose;
use emoji_mirror::engine::{Delivery, Engine, EngineCommand, EngineEvent, EngineOptions};
use emoji_mirror::source::SourceSpec;
use emoji_mirror::vision::DetectorKind;

const CLIP: &str = "crema-d/mp4/1001_DFA_HAP_XX.mp4";

fn engine(options: EngineOptions) -> Engine {
    let mut settings = common::settings();
    settings.detector.input_max_side = settings.video_detector_side;
    let models = compose::engine_models(&settings).expect("models");
    Engine::start(SourceSpec::Video(common::data(CLIP)), models, options).expect("engine")
}

/// How long the engine may analyse nothing before the slow consumer takes it as the clip's
/// end (any machine, however loaded, analyses a frame of this clip far sooner).
const NO_PROGRESS: Duration = Duration::from_secs(2);

#[test]
fn a_slow_newest_only_consumer_gets_fresh_frames_and_stale_ones_are_dropped() {
    let e = engine(EngineOptions { delivery: Delivery::NewestOnly, ..EngineOptions::offline() });
    let mut indices = Vec::new();
    for frame in e.frames().iter() {
        indices.push(frame.index);
        e.recycle(frame);
        // Slower than the engine by construction, however loaded the machine: wait until it
        // has analysed three more frames (each newer one replaces the older, which is
        // dropped; the last may still be on its way), or until it stops (the clip ended).
        let wanted = e.summary().frames + 3;
        let (mut seen, mut since) = (e.summary().frames, Instant::now());
        while seen < wanted && since.elapsed() < NO_PROGRESS {
            std::thread::sleep(Duration::from_millis(5));
            let now = e.summary().frames;
            if now != seen {
                (seen, since) = (now, Instant::now());
            }
        }
    }
    let summary = e.finish();
    assert!(indices.len() > 3, "frames reach the consumer: {indices:?}");
    assert!(indices.windows(2).all(|w| w[0] < w[1]), "in order: {indices:?}");
    // Fresh: the consumer's next frame is the newest, never the stale one it waited past.
    let skipping = indices.windows(2).filter(|w| w[1] >= w[0] + 2).count();
    assert!(skipping * 2 >= indices.len() - 1, "most steps skip a stale frame: {indices:?}");
    assert!(summary.dropped > 0, "{summary:?}");
    assert!((indices.len() as u64) < summary.frames, "{} taken of {}", indices.len(), summary.frames);
}

#[test]
fn pause_stops_the_frames_and_a_detector_switch_is_reported() {
    let e = engine(EngineOptions { repeat: true, ..EngineOptions::offline() });
    let first = e.frames().recv_timeout(Duration::from_secs(20)).expect("a frame");
    e.recycle(first);
    e.send(EngineCommand::Pause(true));
    // What was already in flight may still arrive; then nothing.
    let settle = Instant::now() + Duration::from_millis(500);
    while let Ok(f) = e.frames().recv_timeout(settle.saturating_duration_since(Instant::now())) {
        e.recycle(f);
    }
    assert!(e.frames().recv_timeout(Duration::from_millis(400)).is_err(), "paused: no frames");
    let mut settings = common::settings();
    settings.detector_kind = DetectorKind::HaarDefault;
    e.send(EngineCommand::Detector(compose::detector_spec(&settings)));
    e.send(EngineCommand::Pause(false));
    let frame = e.frames().recv_timeout(Duration::from_secs(20)).expect("frames again");
    e.recycle(frame);
    let events: Vec<EngineEvent> = e.events().try_iter().collect();
    assert!(events.contains(&EngineEvent::Detector { name: "haar-default".into() }), "{events:?}");
}

#[test]
fn a_repeating_video_starts_again_with_new_tracks_and_ids_that_go_on() {
    let e = engine(EngineOptions { repeat: true, ..EngineOptions::offline() });
    let mut passes = vec![Vec::new()];
    let mut last_index = None;
    for frame in e.frames().iter() {
        if last_index.is_some_and(|l| frame.index < l) {
            passes.push(Vec::new());
        }
        last_index = Some(frame.index);
        passes.last_mut().expect("a pass").extend(frame.tracks.tracks.iter().map(|t| t.id));
        e.recycle(frame);
        if passes.len() == 3 {
            break;
        }
    }
    let events: Vec<EngineEvent> = e.events().try_iter().collect();
    assert!(events.contains(&EngineEvent::SourceEnded), "{events:?}");
    let first_max = passes[0].iter().max().copied().expect("tracks in the first pass");
    let second_min = passes[1].iter().min().copied().expect("tracks in the second pass");
    assert!(second_min > first_max, "ids go on counting: {first_max} then {second_min}");
}
