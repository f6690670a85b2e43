//! Face entities: one per tracked person, spawned when they appear and despawned
//! when they leave. The engine tracks; this system only mirrors its tracks.

use bevy::prelude::*;

use super::AppSystems;
use super::video::LatestAnalysis;
use crate::vision::classifier::top_two;
use crate::vision::{BBox, LANDMARKS};

/// Most classes the emoji can follow (the probability vector is a fixed array).
pub const MAX_CLASSES: usize = 16;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Update, mirror_tracks.in_set(AppSystems::Track));
}

/// A tracked person (the Face entity).
#[derive(Component, Debug, Clone, PartialEq)]
pub struct FaceTrack {
    pub id: u64,
    pub bbox_in_frame: BBox,
    pub landmarks_in_frame: [[f32; 2]; LANDMARKS],
    /// Detections in a row this person was not found in.
    pub misses: u32,
}

/// The person's emotion: confirmed class (confirmation window) and smoothed probabilities.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct FaceEmotion {
    pub confirmed: Option<usize>,
    pub smoothed: [f32; MAX_CLASSES],
    pub classes: usize,
    /// Top class of the last frame and the runner-up, with probabilities.
    pub top: (usize, f32),
    pub runner_up: (usize, f32),
    /// Share of the window held by the confirmed class.
    pub confirmed_share: f32,
    /// Seconds since the confirmed class last changed (drives the pop animation).
    pub since_change_s: f32,
    /// Smoothed `[valence, arousal]` (each -1..1), when the classifier gives them.
    pub affect: Option<[f32; 2]>,
}

fn mirror_tracks(
    mut commands: Commands,
    latest: Res<LatestAnalysis>,
    mut faces: Query<(Entity, &mut FaceTrack, &mut FaceEmotion)>,
    time: Res<Time>,
) {
    let dt = time.delta_secs();
    for (_, _, mut emotion) in &mut faces {
        emotion.since_change_s += dt;
    }
    if !latest.fresh {
        return;
    }
    let tracks = &latest.tracks;
    // Despawn the faces whose track ended.
    for (e, track, _) in &faces {
        if !tracks.tracks.iter().any(|t| t.id == track.id) {
            commands.entity(e).despawn();
        }
    }
    for (i, t) in tracks.tracks.iter().enumerate() {
        let values = tracks.smoothed(i);
        let n = values.len().min(MAX_CLASSES);
        let mut smoothed = [0.0; MAX_CLASSES];
        smoothed[..n].copy_from_slice(&values[..n]);
        let (top, runner_up) = top_two(&smoothed[..n]);
        let track = FaceTrack {
            id: t.id,
            bbox_in_frame: t.face.bbox_in_frame,
            landmarks_in_frame: t.face.landmarks_in_frame,
            misses: t.misses,
        };
        let confirmed = t.confirmed;
        let confirmed_share = confirmed.and_then(|c| tracks.shares(i).get(c).copied()).unwrap_or(0.0);
        match faces.iter_mut().find(|(_, f, _)| f.id == t.id) {
            Some((_, mut f, mut emo)) => {
                *f = track;
                if emo.confirmed != confirmed {
                    emo.since_change_s = 0.0;
                }
                emo.confirmed = confirmed;
                emo.smoothed = smoothed;
                emo.classes = n;
                emo.top = top;
                emo.runner_up = runner_up;
                emo.confirmed_share = confirmed_share;
                emo.affect = t.affect;
            }
            None => {
                commands.spawn((
                    Name::new(format!("Face {}", t.id)),
                    track,
                    FaceEmotion {
                        confirmed,
                        smoothed,
                        classes: n,
                        top,
                        runner_up,
                        confirmed_share,
                        since_change_s: 0.0,
                        affect: t.affect,
                    },
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::{Tracker, TrackingSettings};
    use crate::vision::Face;

    fn labels() -> Vec<String> {
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    fn app() -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .configure_sets(Update, (AppSystems::Receive, AppSystems::Track).chain())
            .init_resource::<LatestAnalysis>()
            .add_plugins(plugin);
        app.update();
        app
    }

    fn face(cx: f32) -> Face {
        Face {
            bbox_in_frame: BBox::new(cx - 40.0, 100.0, 80.0, 80.0),
            landmarks_in_frame: [[cx, 140.0]; LANDMARKS],
            score: 0.9,
        }
    }

    /// Runs the tracker as the engine does and hands its tracks to the app.
    fn feed(app: &mut App, tracker: &mut Tracker, frame: u64, dets: &[Face], class: usize) {
        let t = frame as f64 / 30.0;
        let mut faces = Vec::new();
        tracker.step(t, Some(dets));
        tracker.select_faces(Some(dets), &mut faces);
        let mut p = [0.01f32; 7];
        p[class] = 0.94;
        let probs: Vec<f32> = faces.iter().flat_map(|_| p).collect();
        tracker.observe(t, &probs);
        let mut latest = app.world_mut().resource_mut::<LatestAnalysis>();
        latest.fresh = true;
        latest.index = frame;
        latest.time_s = t;
        tracker.snapshot_into(&mut latest.tracks);
        app.update();
    }

    fn face_count(app: &mut App) -> usize {
        let mut q = app.world_mut().query::<&FaceTrack>();
        q.iter(app.world()).count()
    }

    #[test]
    fn tracks_spawn_faces_that_confirm_and_despawn_after_leaving() {
        let mut app = app();
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        feed(&mut app, &mut tr, 0, &[face(100.0), face(400.0)], 3);
        assert_eq!(face_count(&mut app), 2, "one Face entity per person");
        for k in 1..20 {
            feed(&mut app, &mut tr, k, &[face(100.0 + k as f32), face(400.0 - k as f32)], 3);
        }
        assert_eq!(face_count(&mut app), 2, "still the same two people");
        let mut q = app.world_mut().query::<&FaceEmotion>();
        let emotions: Vec<(Option<usize>, f32)> =
            q.iter(app.world()).map(|e| (e.confirmed, e.confirmed_share)).collect();
        assert_eq!(emotions, vec![(Some(3), 1.0), (Some(3), 1.0)], "the window confirms Happy, all of it");
        // One person leaves; after the miss tolerance their entity goes.
        for k in 20..30 {
            feed(&mut app, &mut tr, k, &[face(120.0)], 3);
        }
        assert_eq!(face_count(&mut app), 1);
        for k in 30..40 {
            feed(&mut app, &mut tr, k, &[], 3);
        }
        assert_eq!(face_count(&mut app), 0, "everyone left");
    }
}
