//! Criterion benchmark of the Haar detector on 640x480 frames made from the shared photos.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use emoji_mirror::vision::DetectorKind;
use emoji_mirror::vision::haar::{HaarDetector, HaarSettings, prep};

/// The photos used, scaled to fit 640x480 and padded.
const PHOTOS: [&str; 3] =
    ["dlib-faces/2008_002506.jpg", "dlib-faces/2009_004587.jpg", "openmpf-samples/meds-aa-S001-01.jpg"];

fn data_dir() -> std::path::PathBuf {
    std::env::var_os("EMOJI_MIRROR_DATA")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

fn bench(c: &mut Criterion) {
    let frames: Vec<_> = PHOTOS
        .iter()
        .map(|p| prep::fit_and_pad(&image::open(data_dir().join(p)).expect("photo").to_rgb8(), 640, 480))
        .collect();
    let mut group = c.benchmark_group("haar_640x480");
    group.sample_size(10);
    for kind in [DetectorKind::HaarDefault, DetectorKind::HaarAlt, DetectorKind::HaarAlt2, DetectorKind::HaarAltTree] {
        let file = kind.cascade_file().expect("haar");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/haar").join(file);
        let mut det = HaarDetector::open(&path, HaarSettings::default()).expect("cascade");
        group.bench_function(kind.as_str(), |b| {
            b.iter(|| {
                for f in &frames {
                    std::hint::black_box(det.detect_rects(f).0.len());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
