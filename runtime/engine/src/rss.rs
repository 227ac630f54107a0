//! Resident memory of this process, for per-model footprints.

/// Current resident set size in bytes (`VmRSS` of `/proc/self/status`); `None`
/// where procfs is not available.
pub fn current_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss_in_kib() {
        let status = "Name:\thermes\nVmHWM:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(5120 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn grows_when_memory_is_touched() {
        let before = current_bytes().expect("procfs");
        let block = std::hint::black_box(vec![1u8; 64 * 1024 * 1024]);
        let after = current_bytes().expect("procfs");
        assert!(after >= before + 32 * 1024 * 1024, "{before} -> {after}");
        drop(block);
    }
}
