//! Memory figures of this process (Linux `/proc/self/status`), for summaries and benchmarks.

/// Peak resident memory of this process in bytes (`VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|kb| kb * 1024)
}

/// Resident memory of this process now in bytes (`VmRSS`), if known.
pub fn rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|kb| kb * 1024)
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn resident_memory_is_known_and_the_peak_is_not_below_it() {
        let (now, peak) = (super::rss_bytes().expect("VmRSS"), super::peak_rss_bytes().expect("VmHWM"));
        assert!(now > 1024 * 1024 && peak >= now, "{now} {peak}");
    }
}
