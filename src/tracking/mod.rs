//! Tracking: who is who across frames, and a stable emotion per person.
//!
//! Pure Rust with no window or ECS types: [`Tracker`] gives every face a stable id
//! ([`assignment`] for optimal matching, a constant-velocity motion model), and each
//! track carries a [`ConfirmationWindow`] and [`Smoothed`] probabilities
//! ([`confirmation`]). How the engine drives it each frame (which faces are classified) is
//! written down in [`tracker`].

pub mod assignment;
pub mod confirmation;
pub mod tracker;

pub use confirmation::{ConfirmationSettings, ConfirmationWindow, Smoothed};
pub use tracker::{Track, TrackReport, TrackSnapshot, Tracker, TrackingSettings};
