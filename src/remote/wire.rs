//! The wire format between kiosks and workers: a small versioned binary payload.
//!
//! All integers are little-endian. A **request** carries the face crops of one frame, already
//! cut and resized to the classifier's input size (never a whole frame):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `EMRQ` |
//! | 1 | version ([`WIRE_VERSION`]) |
//! | 1 | channels: 1 (gray) or 3 (RGB, interleaved) |
//! | 2 | crop width, pixels |
//! | 2 | crop height, pixels |
//! | 2 | crop count (0..=[`MAX_CROPS`]) |
//! | 8 | frame id (the kiosk's frame index) |
//! | 4 | deadline: milliseconds the kiosk waits from sending |
//! | n | `count * width * height * channels` pixel bytes, crop after crop, row by row |
//!
//! A **reply** carries the probabilities per crop:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `EMRP` |
//! | 1 | version ([`WIRE_VERSION`]) |
//! | 1 | model name length, bytes (0..=255) |
//! | 2 | classes per crop |
//! | 2 | crop count |
//! | 8 | frame id (echoed) |
//! | 8 | labels hash ([`labels_hash`]): the kiosk rejects a reply from another label set |
//! | m | model name, UTF-8 |
//! | k | `count * classes` probabilities, f32 |
//!
//! A payload is at most [`MAX_PAYLOAD_BYTES`]; decoding is strict (exact length, known
//! version, sizes in range) and answers a [`WireError`], never a panic.

use thiserror::Error;

/// The format's version; a payload with another version is rejected.
pub const WIRE_VERSION: u8 = 1;
/// First bytes of a request.
pub const REQUEST_MAGIC: [u8; 4] = *b"EMRQ";
/// First bytes of a reply.
pub const REPLY_MAGIC: [u8; 4] = *b"EMRP";
/// Largest payload either way, bytes (1 MiB): 32 RGB crops of 96 x 96 are 885 KiB. The
/// broker's `message_size_limit` in deploy/mosquitto matches it.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Most crops in one request (the classifier's largest batch).
pub const MAX_CROPS: usize = crate::vision::classifier::MAX_BATCH;
/// Largest crop side, pixels (classifier inputs are 48-96 px).
pub const MAX_CROP_SIDE: u16 = 256;
/// Most classes in a reply.
pub const MAX_CLASSES: usize = 64;
/// Request header length, bytes.
pub const REQUEST_HEADER_BYTES: usize = 24;
/// Reply header length, bytes (before the model name).
pub const REPLY_HEADER_BYTES: usize = 26;

/// What is wrong with a payload.
#[derive(Debug, Error, PartialEq)]
pub enum WireError {
    #[error("payload of {len} bytes is larger than the limit of {MAX_PAYLOAD_BYTES}")]
    TooLarge { len: usize },
    #[error("payload of {len} bytes is shorter than its {need}-byte header")]
    Truncated { len: usize, need: usize },
    #[error("payload starts with {found:?}, not the {expected:?} magic")]
    Magic { found: [u8; 4], expected: [u8; 4] },
    #[error("payload version {found}, this build speaks version {WIRE_VERSION}")]
    Version { found: u8 },
    #[error("{channels} channels: a crop is 1 (gray) or 3 (RGB)")]
    Channels { channels: u8 },
    #[error("crop of {width} x {height} pixels: each side must be 1..={MAX_CROP_SIDE}")]
    CropSide { width: u16, height: u16 },
    #[error("{count} crops: at most {MAX_CROPS} per request")]
    TooManyCrops { count: usize },
    #[error("{classes} classes: a reply has 1..={MAX_CLASSES}")]
    Classes { classes: usize },
    #[error("payload is {len} bytes, its header says {expected}")]
    Length { len: usize, expected: usize },
    #[error("the model name is not UTF-8")]
    ModelName,
    #[error("model name of {len} bytes: at most 255")]
    ModelNameLength { len: usize },
    #[error("crop of {found_w} x {found_h} x {found_c}, this classifier takes {want_w} x {want_h} x {want_c}")]
    CropSize { found_w: u16, found_h: u16, found_c: u8, want_w: u16, want_h: u16, want_c: u8 },
    #[error("probability {value} of crop {crop} is not in 0..=1")]
    Probability { crop: usize, value: f32 },
}

/// The shape of every crop in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropShape {
    pub width: u16,
    pub height: u16,
    /// 1 (gray) or 3 (RGB).
    pub channels: u8,
}

impl CropShape {
    /// Bytes of one crop.
    pub fn bytes(&self) -> usize {
        usize::from(self.width) * usize::from(self.height) * usize::from(self.channels)
    }

    /// Checks that a request's crops have the shape a classifier takes.
    pub fn expect(&self, want: CropShape) -> Result<(), WireError> {
        if *self == want {
            return Ok(());
        }
        Err(WireError::CropSize {
            found_w: self.width,
            found_h: self.height,
            found_c: self.channels,
            want_w: want.width,
            want_h: want.height,
            want_c: want.channels,
        })
    }
}

/// A decoded request, borrowing the payload's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub shape: CropShape,
    pub count: usize,
    pub frame_id: u64,
    pub deadline_ms: u32,
    /// `count * shape.bytes()` bytes.
    pub pixels: &'a [u8],
}

impl Request<'_> {
    /// The pixels of crop `i` (`i < count`).
    pub fn crop(&self, i: usize) -> &[u8] {
        let n = self.shape.bytes();
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// A decoded reply, borrowing the payload's model name.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<'a> {
    pub model: &'a str,
    pub labels_hash: u64,
    pub classes: usize,
    pub count: usize,
    pub frame_id: u64,
    /// `count * classes` probabilities (decoded into the caller's buffer).
    pub probabilities_len: usize,
}

fn check_shape(shape: CropShape, count: usize) -> Result<usize, WireError> {
    if shape.channels != 1 && shape.channels != 3 {
        return Err(WireError::Channels { channels: shape.channels });
    }
    let side_ok = |s: u16| (1..=MAX_CROP_SIDE).contains(&s);
    if !side_ok(shape.width) || !side_ok(shape.height) {
        return Err(WireError::CropSide { width: shape.width, height: shape.height });
    }
    if count > MAX_CROPS {
        return Err(WireError::TooManyCrops { count });
    }
    let len = REQUEST_HEADER_BYTES + count * shape.bytes();
    if len > MAX_PAYLOAD_BYTES {
        return Err(WireError::TooLarge { len });
    }
    Ok(len)
}

/// Writes a request into `out` (cleared first; its capacity is reused). `pixels` holds
/// `count` crops of `shape`.
pub fn encode_request(
    out: &mut Vec<u8>,
    shape: CropShape,
    count: usize,
    frame_id: u64,
    deadline_ms: u32,
    pixels: &[u8],
) -> Result<(), WireError> {
    let len = check_shape(shape, count)?;
    let expected = count * shape.bytes();
    if pixels.len() != expected {
        return Err(WireError::Length { len: REQUEST_HEADER_BYTES + pixels.len(), expected: len });
    }
    out.clear();
    out.reserve(len);
    out.extend_from_slice(&REQUEST_MAGIC);
    out.push(WIRE_VERSION);
    out.push(shape.channels);
    out.extend_from_slice(&shape.width.to_le_bytes());
    out.extend_from_slice(&shape.height.to_le_bytes());
    out.extend_from_slice(&(count as u16).to_le_bytes());
    out.extend_from_slice(&frame_id.to_le_bytes());
    out.extend_from_slice(&deadline_ms.to_le_bytes());
    out.extend_from_slice(pixels);
    Ok(())
}

/// Reads the fixed-size fields of a header; `bytes` is long enough (checked by the caller).
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
}

/// Checks size, header length, magic and version; a cursor after the version byte.
fn open(bytes: &[u8], header: usize, magic: [u8; 4]) -> Result<Cursor<'_>, WireError> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(WireError::TooLarge { len: bytes.len() });
    }
    if bytes.len() < header {
        return Err(WireError::Truncated { len: bytes.len(), need: header });
    }
    let mut c = Cursor { bytes, at: 0 };
    let found = c.take::<4>();
    if found != magic {
        return Err(WireError::Magic { found, expected: magic });
    }
    let version = c.u8();
    if version != WIRE_VERSION {
        return Err(WireError::Version { found: version });
    }
    Ok(c)
}

/// Decodes a request; the pixels are borrowed from `bytes`.
pub fn decode_request(bytes: &[u8]) -> Result<Request<'_>, WireError> {
    let mut c = open(bytes, REQUEST_HEADER_BYTES, REQUEST_MAGIC)?;
    let channels = c.u8();
    let width = c.u16();
    let height = c.u16();
    let count = usize::from(c.u16());
    let frame_id = c.u64();
    let deadline_ms = c.u32();
    let shape = CropShape { width, height, channels };
    let expected = check_shape(shape, count)?;
    if bytes.len() != expected {
        return Err(WireError::Length { len: bytes.len(), expected });
    }
    Ok(Request { shape, count, frame_id, deadline_ms, pixels: c.rest() })
}

/// Writes a reply into `out` (cleared first). `probabilities` holds `count * classes` values.
pub fn encode_reply(
    out: &mut Vec<u8>,
    model: &str,
    labels_hash: u64,
    classes: usize,
    frame_id: u64,
    probabilities: &[f32],
) -> Result<(), WireError> {
    if classes == 0 || classes > MAX_CLASSES {
        return Err(WireError::Classes { classes });
    }
    if model.len() > usize::from(u8::MAX) {
        return Err(WireError::ModelNameLength { len: model.len() });
    }
    let count = probabilities.len() / classes;
    if count > MAX_CROPS {
        return Err(WireError::TooManyCrops { count });
    }
    let len = REPLY_HEADER_BYTES + model.len() + probabilities.len() * 4;
    if probabilities.len() != count * classes {
        return Err(WireError::Length { len, expected: REPLY_HEADER_BYTES + model.len() + count * classes * 4 });
    }
    out.clear();
    out.reserve(len);
    out.extend_from_slice(&REPLY_MAGIC);
    out.push(WIRE_VERSION);
    out.push(model.len() as u8);
    out.extend_from_slice(&(classes as u16).to_le_bytes());
    out.extend_from_slice(&(count as u16).to_le_bytes());
    out.extend_from_slice(&frame_id.to_le_bytes());
    out.extend_from_slice(&labels_hash.to_le_bytes());
    out.extend_from_slice(model.as_bytes());
    for p in probabilities {
        out.extend_from_slice(&p.to_le_bytes());
    }
    Ok(())
}

/// Decodes a reply; its probabilities go into `probabilities` (cleared first).
pub fn decode_reply<'a>(bytes: &'a [u8], probabilities: &mut Vec<f32>) -> Result<Reply<'a>, WireError> {
    let mut c = open(bytes, REPLY_HEADER_BYTES, REPLY_MAGIC)?;
    let name_len = usize::from(c.u8());
    let classes = usize::from(c.u16());
    let count = usize::from(c.u16());
    let frame_id = c.u64();
    let labels_hash = c.u64();
    if classes == 0 || classes > MAX_CLASSES {
        return Err(WireError::Classes { classes });
    }
    if count > MAX_CROPS {
        return Err(WireError::TooManyCrops { count });
    }
    let expected = REPLY_HEADER_BYTES + name_len + count * classes * 4;
    if bytes.len() != expected {
        return Err(WireError::Length { len: bytes.len(), expected });
    }
    let rest = c.rest();
    let model = std::str::from_utf8(&rest[..name_len]).map_err(|_| WireError::ModelName)?;
    probabilities.clear();
    for (i, chunk) in rest[name_len..].chunks_exact(4).enumerate() {
        let mut a = [0u8; 4];
        a.copy_from_slice(chunk);
        let value = f32::from_le_bytes(a);
        if !(0.0..=1.0).contains(&value) {
            probabilities.clear();
            return Err(WireError::Probability { crop: i / classes, value });
        }
        probabilities.push(value);
    }
    Ok(Reply { model, labels_hash, classes, count, frame_id, probabilities_len: probabilities.len() })
}

/// FNV-1a (64 bit) over the labels, each followed by a 0 byte: kiosk and worker must agree
/// on the classes and their order before a reply labels a face.
pub fn labels_hash(labels: &[String]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for label in labels {
        for &b in label.as_bytes().iter().chain(std::iter::once(&0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAY48: CropShape = CropShape { width: 48, height: 48, channels: 1 };

    fn request(count: usize) -> Vec<u8> {
        let pixels: Vec<u8> = (0..count * GRAY48.bytes()).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        encode_request(&mut out, GRAY48, count, 42, 250, &pixels).expect("a valid request");
        out
    }

    fn reply() -> Vec<u8> {
        let mut out = Vec::new();
        let probs = [0.1, 0.2, 0.7, 0.5, 0.25, 0.25];
        encode_reply(&mut out, "emotion-cnn", 7, 3, 42, &probs).expect("a valid reply");
        out
    }

    #[test]
    fn a_request_round_trips() {
        let bytes = request(3);
        assert_eq!(bytes.len(), REQUEST_HEADER_BYTES + 3 * 48 * 48);
        let r = decode_request(&bytes).expect("decodes");
        assert_eq!((r.shape, r.count, r.frame_id, r.deadline_ms), (GRAY48, 3, 42, 250));
        assert_eq!(r.crop(1)[0], ((48 * 48) % 251) as u8);
        assert_eq!(r.crop(2).len(), 48 * 48);
    }

    #[test]
    fn a_reply_round_trips() {
        let bytes = reply();
        let mut probs = Vec::new();
        let r = decode_reply(&bytes, &mut probs).expect("decodes");
        assert_eq!((r.model, r.labels_hash, r.classes, r.count, r.frame_id), ("emotion-cnn", 7, 3, 2, 42));
        assert_eq!(probs, vec![0.1, 0.2, 0.7, 0.5, 0.25, 0.25]);
    }

    #[test]
    fn every_truncation_and_extension_is_an_error_not_a_panic() {
        let req = request(2);
        for n in 0..req.len() {
            assert!(decode_request(&req[..n]).is_err(), "request cut to {n} bytes");
        }
        let mut longer = req.clone();
        longer.push(0);
        assert!(matches!(decode_request(&longer), Err(WireError::Length { .. })));
        let rep = reply();
        let mut probs = Vec::new();
        for n in 0..rep.len() {
            assert!(decode_reply(&rep[..n], &mut probs).is_err(), "reply cut to {n} bytes");
        }
    }

    #[test]
    fn flipped_header_bytes_are_errors_not_panics() {
        // Every value of every header byte: decoding never panics, and a changed size field
        // is never accepted with the original length.
        let req = request(1);
        for at in 0..REQUEST_HEADER_BYTES {
            for v in 0..=255u8 {
                let mut b = req.clone();
                b[at] = v;
                let _ = decode_request(&b);
            }
        }
        let rep = reply();
        let mut probs = Vec::new();
        for at in 0..REPLY_HEADER_BYTES + 11 {
            for v in 0..=255u8 {
                let mut b = rep.clone();
                b[at] = v;
                let _ = decode_reply(&b, &mut probs);
            }
        }
    }

    #[test]
    fn wrong_magic_version_channels_and_sizes_are_named() {
        let mut b = request(1);
        b[0] = b'X';
        assert!(matches!(decode_request(&b), Err(WireError::Magic { .. })));
        let mut b = request(1);
        b[4] = 2;
        assert_eq!(decode_request(&b), Err(WireError::Version { found: 2 }));
        let mut b = request(1);
        b[5] = 4;
        assert_eq!(decode_request(&b), Err(WireError::Channels { channels: 4 }));
        let mut b = request(1);
        b[6..8].copy_from_slice(&0u16.to_le_bytes());
        assert!(matches!(decode_request(&b), Err(WireError::CropSide { width: 0, .. })));
        let mut b = request(1);
        b[10..12].copy_from_slice(&(MAX_CROPS as u16 + 1).to_le_bytes());
        assert!(matches!(decode_request(&b), Err(WireError::TooManyCrops { .. })));
        // A reply is not a request.
        assert!(matches!(decode_request(&reply()), Err(WireError::Magic { .. })));
    }

    #[test]
    fn oversized_payloads_are_refused_both_ways() {
        let big = vec![0u8; MAX_PAYLOAD_BYTES + 1];
        assert_eq!(decode_request(&big), Err(WireError::TooLarge { len: MAX_PAYLOAD_BYTES + 1 }));
        assert!(matches!(decode_reply(&big, &mut Vec::new()), Err(WireError::TooLarge { .. })));
        // 32 RGB crops of 256 x 256 would be 6 MiB: refused before anything is written.
        let shape = CropShape { width: 256, height: 256, channels: 3 };
        let mut out = Vec::new();
        let err = encode_request(&mut out, shape, MAX_CROPS, 0, 0, &[]).expect_err("too large");
        assert!(matches!(err, WireError::TooLarge { .. }));
        assert!(out.is_empty());
    }

    #[test]
    fn a_crop_of_the_wrong_size_is_named() {
        let r = request(1);
        let r = decode_request(&r).expect("decodes");
        let want = CropShape { width: 64, height: 64, channels: 1 };
        let err = r.shape.expect(want).expect_err("48 is not 64");
        assert_eq!(err.to_string(), "crop of 48 x 48 x 1, this classifier takes 64 x 64 x 1");
        assert!(r.shape.expect(GRAY48).is_ok());
    }

    #[test]
    fn probabilities_outside_0_1_are_refused() {
        let mut out = Vec::new();
        encode_reply(&mut out, "m", 1, 2, 0, &[0.5, f32::NAN]).expect("encodes");
        assert!(matches!(decode_reply(&out, &mut Vec::new()), Err(WireError::Probability { crop: 0, .. })));
        encode_reply(&mut out, "m", 1, 2, 0, &[0.5, 0.5, 2.0, 0.0]).expect("encodes");
        assert!(matches!(decode_reply(&out, &mut Vec::new()), Err(WireError::Probability { crop: 1, .. })));
    }

    #[test]
    fn labels_hash_depends_on_names_and_order() {
        let a: Vec<String> = ["happy", "sad"].map(String::from).to_vec();
        let b: Vec<String> = ["sad", "happy"].map(String::from).to_vec();
        let c: Vec<String> = ["happysad"].map(String::from).to_vec();
        assert_ne!(labels_hash(&a), labels_hash(&b));
        assert_ne!(labels_hash(&a), labels_hash(&c));
        assert_eq!(labels_hash(&a), labels_hash(&a.clone()));
    }
}
