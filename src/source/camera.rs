//! Webcams through nokhwa: open with a requested size and rate (falling back to the
//! closest the device offers), decode MJPEG or YUYV to RGB, list devices.

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use nokhwa::{Camera, NokhwaError};

use super::live::{Grabber, RETRY_INTERVAL};
use super::{SourceError, SourceHandle};

/// Requested capture size and rate; the closest mode the device has is used.
pub const DEFAULT_WIDTH: u32 = 640;
pub const DEFAULT_HEIGHT: u32 = 480;
pub const DEFAULT_FPS: u32 = 30;

/// Which camera and which mode to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraRequest {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl CameraRequest {
    pub fn new(index: u32) -> Self {
        Self { index, width: DEFAULT_WIDTH, height: DEFAULT_HEIGHT, fps: DEFAULT_FPS }
    }
}

fn first_line(e: &NokhwaError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// A nokhwa camera as a [`Grabber`].
pub struct CameraGrabber {
    request: CameraRequest,
    camera: Option<Camera>,
}

impl CameraGrabber {
    pub fn new(request: CameraRequest) -> Self {
        Self { request, camera: None }
    }
}

impl Grabber for CameraGrabber {
    fn name(&self) -> String {
        format!("camera {}", self.request.index)
    }

    fn open(&mut self) -> Result<(), String> {
        let r = self.request;
        let wanted = CameraFormat::new(Resolution::new(r.width, r.height), FrameFormat::MJPEG, r.fps);
        let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
        let mut camera = Camera::new(CameraIndex::Index(r.index), format).map_err(|e| first_line(&e))?;
        camera.open_stream().map_err(|e| first_line(&e))?;
        let got = camera.camera_format();
        tracing::info!("camera {}: {} (asked for {}x{} at {} fps)", r.index, got, r.width, r.height, r.fps);
        self.camera = Some(camera);
        Ok(())
    }

    fn grab(&mut self, image: &mut image::RgbImage) -> Result<(), String> {
        let camera = self.camera.as_mut().ok_or("camera is not open")?;
        let buffer = camera.frame().map_err(|e| first_line(&e))?;
        let res = buffer.resolution();
        if image.dimensions() != (res.width(), res.height()) {
            *image = image::RgbImage::new(res.width(), res.height());
        }
        buffer.decode_image_to_buffer::<RgbFormat>(image).map_err(|e| first_line(&e))
    }

    fn close(&mut self) {
        if let Some(mut c) = self.camera.take() {
            let _ = c.stop_stream();
        }
    }
}

/// Opens camera `request.index` on a capture thread (newest-frame policy).
pub fn spawn(request: CameraRequest) -> Result<SourceHandle, SourceError> {
    // Recovery tests: the hidden `--fake-camera` stands in for every device.
    if let Some(fake) = super::fake_camera::installed() {
        return super::fake_camera::spawn(fake, request);
    }
    super::live::spawn(
        move || CameraGrabber::new(request),
        RETRY_INTERVAL,
        move |reason| SourceError::NoCamera { index: request.index, reason },
    )
}

/// One line per camera with its index and name, then its modes.
pub fn list() -> Result<Vec<String>, String> {
    let cameras = nokhwa::query(ApiBackend::Auto).map_err(|e| first_line(&e))?;
    let mut out = Vec::new();
    for info in cameras {
        out.push(format!("{}: {} ({})", info.index(), info.human_name(), info.description()));
        let none = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
        match Camera::new(info.index().clone(), none).and_then(|mut c| c.compatible_camera_formats()) {
            Ok(mut formats) => {
                formats.sort_by_key(|f| (f.format().to_string(), f.width(), f.height(), f.frame_rate()));
                out.extend(formats.iter().map(|f| format!("    {f}")));
            }
            Err(e) => out.push(format!("    (formats unavailable: {})", first_line(&e))),
        }
    }
    Ok(out)
}
