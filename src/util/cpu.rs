//! CPU time of the calling thread, for budgets and reports that must not depend on other load on the machine
//! (wall-clock planner time grows when the cores are shared; a thread's CPU time does not).

/// CPU time consumed by the calling thread so far, seconds: `/proc/thread-self/schedstat` (nanoseconds), else
/// `/proc/thread-self/stat` utime + stime (Linux's fixed 100 ticks/s), else `None` (non-Linux).
pub fn thread_cpu_seconds() -> Option<f64> {
    if let Ok(text) = std::fs::read_to_string("/proc/thread-self/schedstat") {
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        {
            return Some(ns as f64 * 1e-9);
        }
    }
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15 (1-based).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
