//! emoji-mirror: frames in, faces and emotions out.
//!
//! The data flows one way, and the modules follow it:
//! [`source`] (images, folders, video, camera) -> [`vision`] (face detection, emotion
//! classification) -> [`tracking`] (identity, stable emotions) -> [`report`] (console lines,
//! JSON, annotated images, evaluation) and [`app`] (the window).
//!
//! [`engine`] runs source -> detect -> classify -> track on its threads for every command
//! and the app. [`config`] holds the settings file; [`compose`] is the one place that turns
//! settings into specs and opened models (`source`, `vision` and `tracking` never see the
//! settings file). [`runtime`] loads ONNX Runtime; [`logs`] rate-limits repeating warnings.

#[cfg(feature = "app")]
pub mod app;
pub mod attack;
pub mod compose;
pub mod config;
pub mod engine;
pub mod game;
pub mod health;
pub mod identity;
pub mod logs;
pub mod memory;
pub mod remote;
pub mod report;
pub mod runtime;
pub mod source;
pub mod store;
pub mod tracking;
pub mod vision;
