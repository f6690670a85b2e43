//! Video files decoded in-process with FFmpeg (ffmpeg-next), with media timestamps.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use super::{Delivery, Frame, FrameTime, Producer, SourceError, SourceEvent, SourceHandle};

static FFMPEG_INIT: Once = Once::new();

fn open_err(path: &Path, reason: impl Into<String>) -> SourceError {
    SourceError::Open { path: path.to_path_buf(), reason: reason.into() }
}

/// Opens `path` now (so a missing or unreadable file fails at once) and decodes it on a thread.
pub fn spawn(path: &Path) -> Result<SourceHandle, SourceError> {
    if !path.is_file() {
        return Err(open_err(path, "file not found"));
    }
    FFMPEG_INIT.call_once(|| {
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
        // init only registers codecs; failure leaves format::input to report the problem.
        let _ = ffmpeg::init();
    });
    let input = ffmpeg::format::input(path).map_err(|e| open_err(path, format!("not a readable video ({e})")))?;
    let stream =
        input.streams().best(ffmpeg::media::Type::Video).ok_or_else(|| open_err(path, "contains no video stream"))?;
    let stream_index = stream.index();
    let time_base = f64::from(stream.time_base());
    let rate = f64::from(stream.avg_frame_rate());
    let frame_seconds = if rate > 0.0 { 1.0 / rate } else { 0.0 };
    let context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| open_err(path, format!("unsupported video stream ({e})")))?;
    let decoder = context.decoder().video().map_err(|e| open_err(path, format!("no decoder for this video ({e})")))?;
    let path = path.to_path_buf();
    SourceHandle::start("video", Delivery::EveryFrame, move |mut p: Producer| {
        let mut state = DecodeState {
            decoder,
            scaler: None,
            decoded: VideoFrame::empty(),
            rgb: VideoFrame::empty(),
            index: 0,
            time_base,
            frame_seconds,
            path_text: path.display().to_string(),
        };
        let mut input = input;
        for (stream, packet) in input.packets() {
            if stream.index() != stream_index {
                continue;
            }
            if let Err(e) = state.decoder.send_packet(&packet) {
                let what = format!("{} packet at frame {}", state.path_text, state.index);
                if !p.send(SourceEvent::Skipped { what, reason: e.to_string() }) {
                    return;
                }
                continue;
            }
            if !state.drain(&mut p) {
                return;
            }
        }
        let _ = state.decoder.send_eof();
        state.drain(&mut p);
    })
}

struct DecodeState {
    decoder: ffmpeg::decoder::Video,
    scaler: Option<(scaling::Context, (u32, u32, Pixel))>,
    decoded: VideoFrame,
    rgb: VideoFrame,
    index: u64,
    time_base: f64,
    frame_seconds: f64,
    path_text: String,
}

impl DecodeState {
    /// Sends every frame the decoder has ready; false when the consumer is gone.
    fn drain(&mut self, p: &mut Producer) -> bool {
        while self.decoder.receive_frame(&mut self.decoded).is_ok() {
            let event = match self.convert(p) {
                Ok(frame) => SourceEvent::Frame(frame),
                Err(reason) => {
                    SourceEvent::Skipped { what: format!("{} frame {}", self.path_text, self.index), reason }
                }
            };
            self.index += 1;
            if !p.send(event) {
                return false;
            }
        }
        true
    }

    fn convert(&mut self, p: &mut Producer) -> Result<Frame, String> {
        let (w, h, fmt) = (self.decoded.width(), self.decoded.height(), self.decoded.format());
        if w == 0 || h == 0 {
            return Err("frame has no pixels".into());
        }
        if self.scaler.as_ref().is_none_or(|(_, key)| *key != (w, h, fmt)) {
            let ctx = scaling::Context::get(fmt, w, h, Pixel::RGB24, w, h, scaling::Flags::BILINEAR)
                .map_err(|e| format!("cannot convert {fmt:?} to RGB ({e})"))?;
            self.scaler = Some((ctx, (w, h, fmt)));
        }
        let Some((scaler, _)) = self.scaler.as_mut() else {
            return Err("no pixel converter".into());
        };
        scaler.run(&self.decoded, &mut self.rgb).map_err(|e| e.to_string())?;
        let mut image = p.buffer(w, h);
        let stride = self.rgb.stride(0);
        let src = self.rgb.data(0);
        let row = w as usize * 3;
        for (y, dst) in image.chunks_exact_mut(row).enumerate() {
            dst.copy_from_slice(&src[y * stride..y * stride + row]);
        }
        let seconds = match self.decoded.timestamp() {
            Some(ts) => ts as f64 * self.time_base,
            None => self.index as f64 * self.frame_seconds,
        };
        Ok(Frame {
            index: self.index,
            time: FrameTime::Media(Duration::from_secs_f64(seconds.max(0.0))),
            name: String::new(),
            image,
        })
    }
}
