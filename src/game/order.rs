//! The order of a round's targets: a fixed demo sequence, or the warm-up classes shuffled,
//! then the hard ones shuffled, then reshuffled repeats, never the same class twice in a
//! row. Deterministic for a seed (a small SplitMix64, no dependency).

use super::GameError;
use super::rules::ChallengeRules;

/// The targets of a round as class indices into `labels`.
///
/// With `demo` (a fixed order of labels, `--demo-sequence`) exactly those, validated
/// (labels compare without regard to case or surrounding spaces; at most `max_targets`).
/// Otherwise the warm-up classes first, shuffled, then the hard ones, shuffled, repeating
/// (every class again, reshuffled) up to `max_targets`, never the same class twice in a row;
/// classes not in `labels` are left out. The same seed gives the same order.
pub fn target_order(
    rules: &ChallengeRules,
    labels: &[String],
    demo: Option<&[String]>,
    seed: u64,
) -> Result<Vec<usize>, GameError> {
    match demo {
        Some(demo) => demo_order(rules, labels, demo),
        None => shuffled_order(rules, labels, seed),
    }
}

/// Index of `label` in `labels`, without regard to case or surrounding spaces.
fn class_index(labels: &[String], label: &str) -> Option<usize> {
    let label = label.trim();
    labels.iter().position(|known| known.trim().eq_ignore_ascii_case(label))
}

fn demo_order(rules: &ChallengeRules, labels: &[String], demo: &[String]) -> Result<Vec<usize>, GameError> {
    if demo.is_empty() {
        return Err(GameError::EmptySequence);
    }
    if demo.len() > rules.max_targets {
        return Err(GameError::SequenceTooLong { count: demo.len(), max: rules.max_targets });
    }
    demo.iter()
        .map(|label| {
            class_index(labels, label)
                .ok_or_else(|| GameError::UnknownEmotion { label: label.clone(), known: known_labels(labels) })
        })
        .collect()
}

/// The classifier's labels, sorted, for error messages.
fn known_labels(labels: &[String]) -> String {
    let mut sorted: Vec<&str> = labels.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.join(", ")
}

fn shuffled_order(rules: &ChallengeRules, labels: &[String], seed: u64) -> Result<Vec<usize>, GameError> {
    let mut warmup: Vec<usize> = Vec::new();
    for label in &rules.warmup {
        if let Some(i) = class_index(labels, label).filter(|i| !warmup.contains(i)) {
            warmup.push(i);
        }
    }
    let mut hard: Vec<usize> = Vec::new();
    for label in &rules.hard {
        if let Some(i) = class_index(labels, label).filter(|i| !warmup.contains(i) && !hard.contains(i)) {
            hard.push(i);
        }
    }
    if warmup.is_empty() && hard.is_empty() {
        return Err(GameError::NoTargets { known: known_labels(labels) });
    }
    let mut rng = SplitMix64::new(seed);
    rng.shuffle(&mut warmup);
    rng.shuffle(&mut hard);
    let mut order: Vec<usize> = warmup.iter().chain(&hard).copied().collect();
    order.truncate(rules.max_targets);
    let mut pool: Vec<usize> = warmup.iter().chain(&hard).copied().collect();
    // With one class only, any repeat would follow itself: play it once.
    while order.len() < rules.max_targets && pool.len() > 1 {
        rng.shuffle(&mut pool);
        if order.last() == pool.first() {
            let other = 1 + rng.below(pool.len() - 1);
            pool.swap(0, other);
        }
        let room = rules.max_targets - order.len();
        order.extend(pool.iter().take(room));
    }
    Ok(order)
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed generator; good enough to
/// shuffle a handful of targets, and reproducible for a seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is negligible for a few classes).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher-Yates shuffle.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    fn names(labels: &[String], order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| labels[i].clone()).collect()
    }

    #[test]
    fn warm_up_comes_first_and_no_class_follows_itself() {
        let labels = labels();
        let rules = ChallengeRules::default();
        let mut first_orders = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let order = target_order(&rules, &labels, None, seed).expect("default classes are known");
            assert_eq!(order.len(), rules.max_targets, "seed {seed}");
            let named = names(&labels, &order);
            let mut warm: Vec<&str> = named[..3].iter().map(String::as_str).collect();
            warm.sort_unstable();
            assert_eq!(warm, ["happy", "neutral", "surprise"], "seed {seed}: {named:?}");
            let mut hard: Vec<&str> = named[3..7].iter().map(String::as_str).collect();
            hard.sort_unstable();
            assert_eq!(hard, ["angry", "disgust", "fear", "sad"], "seed {seed}: {named:?}");
            for pair in order.windows(2) {
                assert_ne!(pair[0], pair[1], "seed {seed}: {named:?}");
            }
            first_orders.insert(named[..3].to_vec());
        }
        // The warm-up really is shuffled: all six orders of three classes turn up.
        assert_eq!(first_orders.len(), 6);
    }

    #[test]
    fn the_same_seed_gives_the_same_order() {
        let labels = labels();
        let rules = ChallengeRules::default();
        let a = target_order(&rules, &labels, None, 42).expect("known");
        let b = target_order(&rules, &labels, None, 42).expect("known");
        assert_eq!(a, b);
        let differs = (0..20).any(|seed| target_order(&rules, &labels, None, seed).expect("known") != a);
        assert!(differs);
    }

    #[test]
    fn classes_the_classifier_lacks_are_left_out() {
        let labels: Vec<String> = ["happy", "sad", "neutral"].iter().map(|s| s.to_string()).collect();
        let rules = ChallengeRules { max_targets: 5, ..ChallengeRules::default() };
        let order = target_order(&rules, &labels, None, 7).expect("some classes are known");
        assert_eq!(order.len(), 5);
        assert_eq!(order[2], 1, "sad (the only hard class) follows the two warm-up classes: {order:?}");
        for pair in order.windows(2) {
            assert_ne!(pair[0], pair[1]);
        }
        let none: Vec<String> = vec!["contempt".into()];
        assert!(matches!(target_order(&rules, &none, None, 7), Err(GameError::NoTargets { .. })));
    }

    #[test]
    fn a_short_round_plays_only_warm_up_classes() {
        let labels = labels();
        let rules = ChallengeRules { max_targets: 2, ..ChallengeRules::default() };
        let order = target_order(&rules, &labels, None, 3).expect("known");
        assert_eq!(order.len(), 2);
        for name in names(&labels, &order) {
            assert!(["happy", "surprise", "neutral"].contains(&name.as_str()), "{name}");
        }
    }

    #[test]
    fn demo_sequence_is_honoured() {
        let labels = labels();
        let rules = ChallengeRules::default();
        let demo: Vec<String> = ["neutral", " Happy", "angry", "happy"].iter().map(|s| s.to_string()).collect();
        let order = target_order(&rules, &labels, Some(&demo), 99).expect("known labels");
        assert_eq!(order, vec![6, 3, 0, 3]);
    }

    #[test]
    fn unknown_demo_label_names_the_known_ones() {
        let labels = labels();
        let demo: Vec<String> = vec!["happy".into(), "xyz".into()];
        let err = target_order(&ChallengeRules::default(), &labels, Some(&demo), 0).expect_err("xyz is unknown");
        assert_eq!(
            err.to_string(),
            "unknown emotion 'xyz' in the demo sequence; the classifier knows: \
             angry, disgust, fear, happy, neutral, sad, surprise"
        );
        let empty: Vec<String> = Vec::new();
        assert!(matches!(
            target_order(&ChallengeRules::default(), &labels, Some(&empty), 0),
            Err(GameError::EmptySequence)
        ));
        let long: Vec<String> = (0..11).map(|i| if i % 2 == 0 { "happy" } else { "sad" }.to_string()).collect();
        let err = target_order(&ChallengeRules::default(), &labels, Some(&long), 0).expect_err("11 > 10");
        assert!(err.to_string().contains("11"), "{err}");
    }
}
