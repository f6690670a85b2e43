//! Speed of the headless pipeline on real data (criterion).
//!
//! `cargo bench --bench pipeline` measures CenterFace per frame at two input sizes,
//! the classifier per face at batch 1 and 4, and the whole threaded pipeline on the
//! 640x480 multi-face video, detecting every frame (`predict`) and with the cadences of
//! `predict --track` (every 2nd and 3rd frame, adaptive); it prints the peak RSS at the end.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emoji_mirror::config::Settings;
use emoji_mirror::engine::{DetectEvery, Engine, EngineOptions};
use emoji_mirror::source::{SourceEvent, SourceSpec};
use emoji_mirror::vision::{Face, FaceDetector};

fn data(rel: &str) -> PathBuf {
    let base = std::env::var_os("EMOJI_MIRROR_DATA")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"), PathBuf::from);
    base.join(rel)
}

const VIDEO: &str = "openmpf-samples/video_01.mp4";

fn first_frame() -> image::RgbImage {
    let source = SourceSpec::Video(data(VIDEO)).spawn().expect("sample video (set EMOJI_MIRROR_DATA)");
    for ev in source.events() {
        if let SourceEvent::Frame(f) = ev {
            return f.image;
        }
    }
    panic!("no frame in {VIDEO}");
}

fn bench(c: &mut Criterion) {
    let env = emoji_mirror::runtime::environment(None).expect("ONNX Runtime (run scripts/setup-ort.sh)");
    let frame = first_frame();
    assert_eq!(frame.dimensions(), (640, 480));

    let mut group = c.benchmark_group("centerface");
    group.throughput(Throughput::Elements(1));
    let mut faces: Vec<Face> = Vec::new();
    for (side, threads) in [(640, 2), (320, 2), (640, 1), (320, 1)] {
        let mut settings = Settings::default();
        settings.detector.input_max_side = side;
        settings.detector.threads.intra_threads = threads;
        let mut det = emoji_mirror::compose::open_detector(env, &settings).expect("detector");
        group.bench_function(format!("{}x{}_threads{threads}", side, side * 3 / 4), |b| {
            b.iter(|| det.detect(black_box(&frame), &mut faces).expect("detect"))
        });
    }
    group.finish();

    let settings = Settings::default();
    let mut det = emoji_mirror::compose::open_detector(env, &settings).expect("detector");
    det.detect(&frame, &mut faces).expect("detect");
    assert!(faces.len() >= 4, "the sample frame has at least 4 faces, found {}", faces.len());
    // Every classifier shipped in models/ (emotion-*.toml), per face at batch 1 and 4.
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(&models)
        .expect("models/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("emotion-") && name.ends_with(".toml")
        })
        .collect();
    manifests.sort();
    let mut probs = Vec::new();
    for manifest in manifests {
        let mut s = settings.clone();
        s.classifier_manifest = manifest.clone();
        let mut clf = emoji_mirror::compose::open_classifier(env, &s).expect("classifier");
        let stem = manifest.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut group = c.benchmark_group(format!("classifier/{stem}"));
        for batch in [1usize, 4] {
            group.throughput(Throughput::Elements(batch as u64));
            let some = &faces[..batch];
            group.bench_function(format!("batch{batch}"), |b| {
                b.iter(|| clf.classify_faces(black_box(&frame), some, &mut probs).expect("classify"))
            });
        }
        group.finish();
    }

    let mut group = c.benchmark_group("predict");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    let mut settings = Settings::default();
    settings.detector.input_max_side = settings.video_detector_side;
    let frames = 90;
    group.throughput(Throughput::Elements(frames));
    // The whole engine as `predict` runs it (models opened once per run, as the command does),
    // then as `predict --track --detect-every N|auto` runs it.
    let cadences = [
        ("video_01_640x480_frames", DetectEvery::EVERY_FRAME),
        ("video_01_detect_every_2", DetectEvery::Fixed(2)),
        ("video_01_detect_every_3", DetectEvery::Fixed(3)),
        ("video_01_detect_auto", DetectEvery::auto()),
    ];
    for (name, detect_every) in cadences {
        group.bench_function(name, |b| {
            b.iter(|| {
                let models = emoji_mirror::compose::engine_models(&settings).expect("models");
                let source = SourceSpec::Video(data(VIDEO));
                let options = EngineOptions { detect_every, ..EngineOptions::offline() };
                let engine = Engine::start(source, models, options).expect("engine");
                for frame in engine.frames().iter() {
                    engine.recycle(frame);
                }
                assert_eq!(engine.finish().frames, frames);
            })
        });
    }
    group.finish();
    if let Some(rss) = emoji_mirror::memory::peak_rss_bytes() {
        println!("peak RSS: {} MiB", rss / (1024 * 1024));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
