//! Enrolled people: a name and the LBPH histograms of their face crops (never a picture),
//! in the same database file as the scores.

use std::sync::PoisonError;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::{ScoreStore, StoreError, read_error, write_error};

/// Values in one LBPH histogram: an 8x8 grid of 256-bin cells. The store keeps histograms
/// without knowing how they are made; `identity` checks at compile time that its
/// histograms have this length (the store stays below `identity` in the module graph).
pub const HISTOGRAM_LEN: usize = 8 * 8 * 256;

/// Most characters in a person's name.
pub const MAX_NAME_CHARS: usize = 64;

/// Bytes of one stored histogram: [`HISTOGRAM_LEN`] little-endian f32 values.
const HISTOGRAM_BYTES: usize = HISTOGRAM_LEN * 4;

/// A name that was refused.
#[derive(Debug, thiserror::Error)]
#[error("name {given:?} must be 1 to {MAX_NAME_CHARS} characters, without control characters")]
pub struct NameError {
    pub given: String,
}

/// A validated person's name: surrounding spaces dropped, 1 to [`MAX_NAME_CHARS`] characters,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn new(s: &str) -> Result<Self, NameError> {
        let t = s.trim();
        let n = t.chars().count();
        if (1..=MAX_NAME_CHARS).contains(&n) && !t.chars().any(char::is_control) {
            Ok(Self(t.to_string()))
        } else {
            Err(NameError { given: s.to_string() })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person as listed: name, when they were enrolled and how many face crops describe them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub name: String,
    pub enrolled_at_unix_s: i64,
    pub histograms: usize,
}

/// One face crop's LBPH histogram.
pub type Histogram = Box<[f32; HISTOGRAM_LEN]>;

/// A person with their histograms, to build the recogniser from.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolledPerson {
    pub name: String,
    pub histograms: Vec<Histogram>,
}

fn blob_from_histogram(h: &[f32; HISTOGRAM_LEN]) -> Vec<u8> {
    h.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl ScoreStore {
    /// Adds `histograms` to `name` in one transaction (enrolling them when new: several
    /// sessions, such as clips or lighting, add up). Returns how many the person now has.
    pub fn enroll_person(
        &mut self,
        name: &PersonName,
        enrolled_at_unix_s: i64,
        histograms: &[Histogram],
    ) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let write = |e| write_error(&path, e);
        let conn = self.conn.get_mut().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(write)?;
        tx.execute(
            "INSERT INTO people (name, enrolled_at_unix_s) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name.as_str(), enrolled_at_unix_s],
        )
        .map_err(write)?;
        let id: i64 = tx
            .query_row("SELECT id FROM people WHERE name = ?1", params![name.as_str()], |r| r.get(0))
            .map_err(write)?;
        let first: i64 = tx
            .query_row(
                "SELECT coalesce(max(position) + 1, 0) FROM face_histograms WHERE person_id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(write)?;
        {
            let mut insert = tx
                .prepare("INSERT INTO face_histograms (person_id, position, histogram) VALUES (?1, ?2, ?3)")
                .map_err(write)?;
            for (position, h) in histograms.iter().enumerate() {
                insert.execute(params![id, first + position as i64, blob_from_histogram(h)]).map_err(write)?;
            }
        }
        tx.commit().map_err(write)?;
        Ok(first as usize + histograms.len())
    }

    /// Every enrolled person, by name.
    pub fn people(&self) -> Result<Vec<Person>, StoreError> {
        let read = |e| read_error(&self.path, e);
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT p.name, p.enrolled_at_unix_s, count(h.position) FROM people p
                 LEFT JOIN face_histograms h ON h.person_id = p.id GROUP BY p.id ORDER BY p.name",
            )
            .map_err(read)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Person { name: r.get(0)?, enrolled_at_unix_s: r.get(1)?, histograms: r.get::<_, i64>(2)? as usize })
            })
            .map_err(read)?;
        rows.collect::<Result<_, _>>().map_err(read)
    }

    /// Every enrolled person with their histograms (what the recogniser is built from).
    pub fn enrolled_people(&self) -> Result<Vec<EnrolledPerson>, StoreError> {
        let read = |e| read_error(&self.path, e);
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT p.name, h.histogram FROM people p JOIN face_histograms h ON h.person_id = p.id
                 ORDER BY p.name, h.position",
            )
            .map_err(read)?;
        let mut rows = stmt.query([]).map_err(read)?;
        let mut out: Vec<EnrolledPerson> = Vec::new();
        while let Some(r) = rows.next().map_err(read)? {
            let name: String = r.get(0).map_err(read)?;
            let blob: Vec<u8> = r.get(1).map_err(read)?;
            if blob.len() != HISTOGRAM_BYTES {
                let detail = format!("{name}: histogram of {} bytes, expected {HISTOGRAM_BYTES}", blob.len());
                return Err(StoreError::Corrupt { path: self.path.clone(), detail });
            }
            let mut h: Histogram = Box::new([0.0; HISTOGRAM_LEN]);
            for (v, b) in h.iter_mut().zip(blob.chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            match out.last_mut() {
                Some(p) if p.name == name => p.histograms.push(h),
                _ => out.push(EnrolledPerson { name, histograms: vec![h] }),
            }
        }
        Ok(out)
    }

    /// Whether anybody is enrolled (recognition runs only then).
    pub fn has_people(&self) -> Result<bool, StoreError> {
        let read = |e| read_error(&self.path, e);
        let any: Option<i64> =
            self.conn().query_row("SELECT 1 FROM people LIMIT 1", [], |r| r.get(0)).optional().map_err(read)?;
        Ok(any.is_some())
    }

    /// Deletes a person and their histograms; false when no one has that name.
    pub fn delete_person(&mut self, name: &PersonName) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let n = self
            .conn
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .execute("DELETE FROM people WHERE name = ?1", params![name.as_str()])
            .map_err(|e| write_error(&path, e))?;
        Ok(n > 0)
    }

    /// Deletes every person and histogram; returns how many people there were.
    pub fn purge_people(&mut self) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let write = |e| write_error(&path, e);
        let conn = self.conn.get_mut().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(write)?;
        tx.execute("DELETE FROM face_histograms", []).map_err(write)?;
        let n = tx.execute("DELETE FROM people", []).map_err(write)?;
        tx.commit().map_err(write)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> (tempfile::TempDir, ScoreStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ScoreStore::open_in(dir.path()).expect("open");
        (dir, store)
    }

    fn hist(v: f32) -> Histogram {
        let mut h: Histogram = Box::new([0.0; HISTOGRAM_LEN]);
        h[7] = v;
        h[HISTOGRAM_LEN - 1] = -v;
        h
    }

    fn name(s: &str) -> PersonName {
        PersonName::new(s).expect("valid name")
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(name("  Ada Lovelace ").as_str(), "Ada Lovelace");
        assert!(PersonName::new("   ").is_err());
        assert!(PersonName::new("a\nb").is_err());
        assert!(PersonName::new(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(PersonName::new(&"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn enrol_list_and_read_back_histograms_exactly() {
        let (_dir, mut store) = fresh();
        assert!(!store.has_people().expect("read"));
        store.enroll_person(&name("Bo"), 100, &[hist(0.25), hist(1.0 / 3.0)]).expect("enrol");
        store.enroll_person(&name("Al"), 200, &[hist(0.5)]).expect("enrol");
        assert!(store.has_people().expect("read"));
        let people = store.people().expect("list");
        let listed: Vec<(&str, usize)> = people.iter().map(|p| (p.name.as_str(), p.histograms)).collect();
        assert_eq!(listed, [("Al", 1), ("Bo", 2)]);
        let enrolled = store.enrolled_people().expect("read");
        assert_eq!(enrolled[1].histograms, vec![hist(0.25), hist(1.0 / 3.0)]);
    }

    #[test]
    fn enrolling_again_adds_and_delete_cascades() {
        let (_dir, mut store) = fresh();
        assert_eq!(store.enroll_person(&name("Bo"), 100, &[hist(0.25), hist(0.5)]).expect("enrol"), 2);
        assert_eq!(store.enroll_person(&name("Bo"), 300, &[hist(0.75)]).expect("enrol more"), 3);
        let people = store.people().expect("list");
        assert_eq!(people, [Person { name: "Bo".into(), enrolled_at_unix_s: 100, histograms: 3 }]);
        let enrolled = store.enrolled_people().expect("read");
        assert_eq!(enrolled[0].histograms, vec![hist(0.25), hist(0.5), hist(0.75)]);
        assert!(store.delete_person(&name("Bo")).expect("delete"));
        assert!(!store.delete_person(&name("Bo")).expect("delete again"));
        assert!(store.enrolled_people().expect("read").is_empty());
        let left: i64 = store.conn().query_row("SELECT count(*) FROM face_histograms", [], |r| r.get(0)).expect("n");
        assert_eq!(left, 0, "the histograms go with the person");
    }

    #[test]
    fn purge_removes_everyone_and_keeps_the_scores_schema() {
        let (_dir, mut store) = fresh();
        store.enroll_person(&name("A"), 1, &[hist(0.1)]).expect("enrol");
        store.enroll_person(&name("B"), 2, &[hist(0.2)]).expect("enrol");
        assert_eq!(store.purge_people().expect("purge"), 2);
        assert!(store.people().expect("list").is_empty());
        assert_eq!(store.schema_version().expect("version"), crate::store::SCHEMA_VERSION);
    }
}
