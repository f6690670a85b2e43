//! Who is in front of the camera: LBPH features of eye-levelled face crops, matched against
//! the people enrolled by name.

pub mod align;
pub mod lbph;
pub mod recognizer;

pub use align::{CROP_SIDE, aligned_crop_into};
pub use lbph::{HISTOGRAM_LEN, LbphExtractor, LbphModel, Prediction, chi_square_alt};
pub use recognizer::{DEFAULT_THRESHOLD, NameVotes, Recognizer, TrackNamer, VOTE_WINDOW_FRAMES, VOTES_TO_CONFIRM};

/// The identity stage for the engine from the people enrolled in the database in `data_dir`
/// (`--data-dir`, else the default data directory): `None` when nobody is enrolled or there is
/// no database yet (which is then not created), so recognition stays off.
pub fn namer_from_data_dir(data_dir: Option<&std::path::Path>) -> Result<Option<TrackNamer>, crate::store::StoreError> {
    let Some(path) = crate::store::data_dir(data_dir).map(|d| d.join(crate::store::DATABASE_FILE)) else {
        return Ok(None);
    };
    if !path.exists() {
        return Ok(None);
    }
    let people = crate::store::ScoreStore::open(&path)?.enrolled_people()?;
    Ok(Recognizer::new(&people, DEFAULT_THRESHOLD).map(TrackNamer::new))
}

/// What can go wrong while describing or matching a face.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("face crop {width}x{height} with {pixels} pixels: needs at least {min}x{min} and width*height pixels", min = lbph::MIN_SIDE)]
    CropSize { width: usize, height: usize, pixels: usize },
    #[error("histogram of {found} values, expected {expected}")]
    HistogramLength { found: usize, expected: usize },
}
