//! Camera-to-screen latency to the presented frame, and the render budget.
//!
//! The main world notes when the frame uploaded into the video texture this update was
//! received from the source ([`super::video::LatestAnalysis::received_at`]). The render world
//! takes that stamp when it extracts the update and closes it in [`RenderSystems::Cleanup`],
//! which runs after `render_system` has submitted the frame and presented the window's
//! swap chain: the latency is source -> analysis -> texture -> presented frame. The same
//! pair of systems times the render thread's work per frame (extract to present).
//! Samples go back to the main world through a bounded channel (one `try_send` of a small
//! `Copy` value per rendered frame: nothing allocated), where [`Stats`] gets the render
//! rate, the render milliseconds and the rolling latency percentiles.
//!
//! Without a render world (headless ECS tests) nothing is measured here and the stats keep
//! the texture-upload latency.

use std::time::Instant;

use bevy::prelude::*;
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderSystems};
use crossbeam_channel::{Receiver, Sender, bounded};

use super::AppSystems;
use super::video::{LatestAnalysis, MAX_LATENCY_SAMPLES, Stats};

/// Samples in flight from the render thread (a few frames; more are dropped, not queued).
const SAMPLE_SLOTS: usize = 16;
/// Latencies the rolling percentiles of the help panel and the stats line are taken over
/// (about 10 s at 30 fps).
pub const LATENCY_WINDOW: usize = 300;
/// Weight of the newest render time in the smoothed render milliseconds (an exponential
/// mean over about the last 10 frames).
const RENDER_MS_WEIGHT: f32 = 0.1;

pub(super) fn plugin(app: &mut App) {
    let (tx, rx) = bounded(SAMPLE_SLOTS);
    app.init_resource::<PresentedLatency>()
        .insert_resource(PresentSamples(rx))
        .add_systems(Update, receive_present_samples.in_set(AppSystems::Receive));
    if let Some(render) = app.get_sub_app_mut(RenderApp) {
        render
            .insert_resource(PresentClock { tx, extracted_at: None, received_at: None })
            .add_systems(ExtractSchedule, stamp_extracted_frame)
            .add_systems(Render, close_presented_frame.in_set(RenderSystems::Cleanup));
    }
}

/// One rendered frame, as the render thread saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PresentSample {
    /// Render thread time from extraction to present, ms.
    pub render_ms: f32,
    /// Camera-to-screen latency of the video frame this render showed first, ms (None: it
    /// showed no new video frame).
    pub latency_ms: Option<f32>,
}

/// The render world's clock: when this frame was extracted and when its new video frame
/// (if any) was received from the source.
#[derive(Resource)]
struct PresentClock {
    tx: Sender<PresentSample>,
    extracted_at: Option<Instant>,
    received_at: Option<Instant>,
}

#[derive(Resource)]
struct PresentSamples(Receiver<PresentSample>);

fn stamp_extracted_frame(latest: Extract<Option<Res<LatestAnalysis>>>, mut clock: ResMut<PresentClock>) {
    clock.extracted_at = Some(Instant::now());
    if let Some(latest) = &*latest
        && latest.fresh
    {
        clock.received_at = latest.received_at;
    }
}

fn close_presented_frame(mut clock: ResMut<PresentClock>) {
    let Some(extracted_at) = clock.extracted_at.take() else { return };
    let sample = PresentSample {
        render_ms: extracted_at.elapsed().as_secs_f32() * 1000.0,
        latency_ms: clock.received_at.take().map(|t| t.elapsed().as_secs_f32() * 1000.0),
    };
    // A full channel means the main world is behind: the sample is left out.
    let _ = clock.tx.try_send(sample);
}

/// The presented frames' latencies (a fixed ring and a scratch buffer: memory stays flat).
#[derive(Resource, Debug)]
pub struct PresentedLatency {
    ring: Vec<f32>,
    next: usize,
    scratch: Vec<f32>,
    /// Whether a presented frame has been measured (a render world exists and runs).
    pub measured: bool,
}

impl Default for PresentedLatency {
    fn default() -> Self {
        Self {
            ring: Vec::with_capacity(LATENCY_WINDOW),
            next: 0,
            scratch: Vec::with_capacity(LATENCY_WINDOW),
            measured: false,
        }
    }
}

impl PresentedLatency {
    /// Adds one latency (ms); the oldest of the window gives way.
    pub fn push(&mut self, ms: f32) {
        self.measured = true;
        if self.ring.len() < LATENCY_WINDOW {
            self.ring.push(ms);
        } else {
            self.ring[self.next] = ms;
        }
        self.next = (self.next + 1) % LATENCY_WINDOW;
    }

    /// (p50, p95) of the window's latencies, ms ((0, 0) while empty).
    pub fn percentiles(&mut self) -> (f32, f32) {
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.ring);
        let p50 = super::capture::percentile(&mut self.scratch, 50.0);
        let p95 = super::capture::percentile(&mut self.scratch, 95.0);
        (p50, p95)
    }
}

fn receive_present_samples(
    samples: Res<PresentSamples>,
    mut stats: ResMut<Stats>,
    mut latency: ResMut<PresentedLatency>,
) {
    let mut any_latency = false;
    for sample in samples.0.try_iter() {
        stats.render_fps = stats.render_rate.tick(Instant::now());
        stats.render_ms = if stats.render_ms == 0.0 {
            sample.render_ms
        } else {
            stats.render_ms + RENDER_MS_WEIGHT * (sample.render_ms - stats.render_ms)
        };
        if let Some(ms) = sample.latency_ms {
            latency.push(ms);
            stats.latency_ms = ms;
            if stats.latencies_ms.len() < MAX_LATENCY_SAMPLES {
                stats.latencies_ms.push(ms);
            }
            any_latency = true;
        }
    }
    if any_latency {
        (stats.latency_p50_ms, stats.latency_p95_ms) = latency.percentiles();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::ecs::system::RunSystemOnce;

    #[test]
    fn the_window_keeps_the_newest_latencies_without_growing() {
        let mut w = PresentedLatency::default();
        assert_eq!(w.percentiles(), (0.0, 0.0));
        assert!(!w.measured);
        for ms in 1..=100 {
            w.push(ms as f32);
        }
        let (p50, p95) = w.percentiles();
        assert_eq!((p50, p95), (51.0, 95.0), "nearest rank over 1..=100 ms");
        let (ring, scratch) = (w.ring.capacity(), w.scratch.capacity());
        // A long run of fast frames pushes the slow start out of the window.
        for _ in 0..LATENCY_WINDOW {
            w.push(10.0);
        }
        assert_eq!(w.percentiles(), (10.0, 10.0));
        assert_eq!(w.ring.len(), LATENCY_WINDOW);
        assert_eq!((w.ring.capacity(), w.scratch.capacity()), (ring, scratch), "no growth past the window");
        // One slow frame in ten shows in p95, not in p50.
        for i in 0..LATENCY_WINDOW {
            w.push(if i % 10 == 0 { 200.0 } else { 40.0 });
        }
        let (p50, p95) = w.percentiles();
        assert_eq!(p50, 40.0);
        assert_eq!(p95, 200.0, "{} of {LATENCY_WINDOW} at 200 ms", LATENCY_WINDOW / 10);
        assert!(w.measured);
    }

    /// The render world's pair of systems: a fresh frame's stamp is closed once, at the
    /// first present after it, and a render without a new frame has no latency.
    #[test]
    fn a_frame_is_closed_at_its_first_present_only() {
        let (tx, rx) = bounded(SAMPLE_SLOTS);
        let mut world = World::new();
        let received = Instant::now() - std::time::Duration::from_millis(40);
        world.insert_resource(PresentClock { tx, extracted_at: Some(Instant::now()), received_at: Some(received) });
        let close = |world: &mut World| world.run_system_once(close_presented_frame).expect("runs");
        close(&mut world);
        let first = rx.try_recv().expect("one sample per present");
        assert!(first.latency_ms.is_some_and(|ms| ms >= 40.0), "{first:?}");
        // Next render: extracted again, with no new video frame.
        world.resource_mut::<PresentClock>().extracted_at = Some(Instant::now());
        close(&mut world);
        let second = rx.try_recv().expect("one sample per present");
        assert_eq!(second.latency_ms, None, "the frame was counted once");
        // A present with no extraction before it (the first frames) says nothing.
        close(&mut world);
        assert!(rx.try_recv().is_err());
    }
}
