//! Which face detector runs: the CenterFace CNN or one of OpenCV's frontal Haar cascades.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The face detectors the pipeline can switch between at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    #[default]
    Centerface,
    HaarDefault,
    HaarAlt,
    HaarAlt2,
    HaarAltTree,
}

impl DetectorKind {
    pub const ALL: [DetectorKind; 5] = [
        DetectorKind::Centerface,
        DetectorKind::HaarDefault,
        DetectorKind::HaarAlt,
        DetectorKind::HaarAlt2,
        DetectorKind::HaarAltTree,
    ];

    /// The hotkeys 1-4 of the original demonstrator: 1 default, 2 alt, 3 alt2, 4 alt-tree.
    pub fn from_hotkey(key: u8) -> Option<Self> {
        match key {
            1 => Some(DetectorKind::HaarDefault),
            2 => Some(DetectorKind::HaarAlt),
            3 => Some(DetectorKind::HaarAlt2),
            4 => Some(DetectorKind::HaarAltTree),
            _ => None,
        }
    }

    /// The hotkey of a Haar cascade (inverse of [`Self::from_hotkey`]).
    pub fn hotkey(self) -> Option<u8> {
        (1..=4).find(|&k| Self::from_hotkey(k) == Some(self))
    }

    /// The OpenCV cascade file of a Haar detector, inside the cascade folder.
    pub fn cascade_file(self) -> Option<&'static str> {
        match self {
            DetectorKind::Centerface => None,
            DetectorKind::HaarDefault => Some("haarcascade_frontalface_default.xml"),
            DetectorKind::HaarAlt => Some("haarcascade_frontalface_alt.xml"),
            DetectorKind::HaarAlt2 => Some("haarcascade_frontalface_alt2.xml"),
            DetectorKind::HaarAltTree => Some("haarcascade_frontalface_alt_tree.xml"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::Centerface => "centerface",
            DetectorKind::HaarDefault => "haar-default",
            DetectorKind::HaarAlt => "haar-alt",
            DetectorKind::HaarAlt2 => "haar-alt2",
            DetectorKind::HaarAltTree => "haar-alt-tree",
        }
    }
}

impl fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DetectorKind {
    type Err = String;

    /// A name (`centerface`, `haar-default`, `haar-alt`, `haar-alt2`, `haar-alt-tree`) or a hotkey 1-4.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(k) = s.parse::<u8>() {
            return Self::from_hotkey(k).ok_or_else(|| format!("detector number {k} is not 1-4"));
        }
        Self::ALL.into_iter().find(|d| d.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            format!("unknown detector '{s}' (centerface, haar-default, haar-alt, haar-alt2, haar-alt-tree or 1-4)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_serde_round_trip() {
        for d in DetectorKind::ALL {
            assert_eq!(d.to_string().parse::<DetectorKind>(), Ok(d));
            let toml = toml::to_string(&std::collections::BTreeMap::from([("d", d)])).expect("ser");
            assert!(toml.contains(d.as_str()), "{toml}");
        }
        assert_eq!("3".parse::<DetectorKind>(), Ok(DetectorKind::HaarAlt2));
        assert_eq!(DetectorKind::HaarAltTree.hotkey(), Some(4));
        assert_eq!(DetectorKind::Centerface.hotkey(), None);
        assert!("5".parse::<DetectorKind>().is_err());
        assert!("lbp".parse::<DetectorKind>().expect_err("unknown").contains("lbp"));
    }
}
