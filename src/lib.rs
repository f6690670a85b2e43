//! emoji-mirror: frames in, faces and emotions out.
//!
//! The data flows one way, and the modules follow it:
//! [`source`] (images, folders, video) -> [`vision`] (face detection, emotion
//! classification) -> [`tracking`] (identity, stable emotions) -> [`report`] (console lines, JSON, annotated images,
//! evaluation). [`pipeline`] runs the stages on threads; [`runtime`] loads ONNX Runtime;
//! [`config`] holds the settings.

#[cfg(feature = "app")]
pub mod app;
pub mod config;
pub mod pipeline;
pub mod report;
pub mod runtime;
pub mod source;
pub mod tracking;
pub mod vision;
