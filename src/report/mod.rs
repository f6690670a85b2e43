//! Reporting: console lines, JSON lines, annotated images and accuracy evaluation.

pub mod draw;
pub mod eval;
pub mod json;
pub mod stability;
pub mod video_eval;

/// Display form of a label: first letter upper case ("happy" -> "Happy").
pub fn display_label(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The console line of one face: `11:11:12 : Happy , 93%`.
pub fn face_line(hms: &str, label: &str, probability: f32) -> String {
    format!("{hms} : {} , {:.0}%", display_label(label), probability * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_the_course_format() {
        assert_eq!(face_line("11:11:12", "happy", 0.934), "11:11:12 : Happy , 93%");
        assert_eq!(face_line("00:00:01", "neutral", 0.5), "00:00:01 : Neutral , 50%");
    }
}
