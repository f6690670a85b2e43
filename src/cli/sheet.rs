//! `emoji-mirror emoji-sheet`: the class emoji, blends and head poses rendered as one picture.

use std::path::PathBuf;

use clap::Args;

use emoji_mirror::app::sheet::{self, DEFAULT_CELL_PX, FER_LABELS, SheetOptions};
use emoji_mirror::compose;
use emoji_mirror::vision::manifest::ClassifierManifest;

use super::{CommonArgs, DetectorArgs};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror emoji-sheet --out sheet.png              # also writes sheet.json (cells and labels)
  emoji-mirror emoji-sheet --out sheet.png --size 128   # smaller cells";

#[derive(Debug, Args)]
pub struct SheetArgs {
    /// The PNG to write; a JSON file beside it (same name, .json) lists each cell's label and
    /// rectangle in window pixels.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
    /// Side of one emoji cell in pixels.
    #[arg(long, value_name = "PX", default_value_t = DEFAULT_CELL_PX)]
    pub size: u32,
}

pub fn run(args: &SheetArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let labels = classifier_labels(common);
    sheet::run(SheetOptions { out: args.out.clone(), cell_px: args.size, labels })?;
    println!("{} and {}", args.out.display(), sheet::sidecar_path(&args.out).display());
    Ok(())
}

/// The classifier's labels (its manifest only: no model is opened); the seven FER2013
/// classes when the manifest cannot be read.
fn classifier_labels(common: &CommonArgs) -> Vec<String> {
    let labels = super::resolve(common, &DetectorArgs::default().overrides(common), false)
        .map(|settings| compose::classifier_spec(&settings).manifest)
        .and_then(|path| Ok(ClassifierManifest::load(&path)?.labels));
    match labels {
        Ok(labels) => labels,
        Err(e) => {
            eprintln!("{e:#}; using the seven FER2013 classes");
            FER_LABELS.iter().map(|s| s.to_string()).collect()
        }
    }
}
