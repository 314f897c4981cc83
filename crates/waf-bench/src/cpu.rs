//! The calling thread's CPU time, read from procfs (the workspace forbids `unsafe`, so no `clock_gettime`):
//! `/proc/thread-self/schedstat` gives the scheduler's run time in nanoseconds, `/proc/thread-self/stat` the
//! utime+stime in clock ticks (USER_HZ, 100 on Linux) as a coarse cross-check.

use std::time::Instant;

use crate::error::BenchError;

/// Clock ticks per second of `utime`/`stime` (USER_HZ; 100 on every mainstream Linux architecture).
pub const USER_HZ: u64 = 100;

/// One reading of the thread's clocks.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Scheduler run time of the thread, nanoseconds.
    pub run_ns: u64,
    /// utime + stime of the thread, clock ticks.
    pub ticks: u64,
    /// Wall clock.
    pub wall: Instant,
}

/// The difference between two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elapsed {
    /// CPU nanoseconds from `schedstat`.
    pub run_ns: u64,
    /// CPU nanoseconds from utime+stime (10 ms resolution).
    pub tick_ns: u64,
    /// Wall nanoseconds.
    pub wall_ns: u64,
}

/// Parses the first field of a `schedstat` line (run time in ns).
pub fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// Parses utime + stime (fields 14 and 15) of a `stat` line; the command name may contain spaces and `)`.
pub fn parse_stat(text: &str) -> Option<u64> {
    let rest = text.get(text.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    // After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn read_proc(path: &str) -> Result<String, BenchError> {
    std::fs::read_to_string(path).map_err(|e| BenchError::io(path, e))
}

/// Reads the calling thread's clocks.
pub fn sample() -> Result<Sample, BenchError> {
    let sched = read_proc("/proc/thread-self/schedstat")?;
    let stat = read_proc("/proc/thread-self/stat")?;
    let bad = |what: &str| BenchError::io(what, std::io::Error::other("unexpected format"));
    Ok(Sample {
        run_ns: parse_schedstat(&sched).ok_or_else(|| bad("/proc/thread-self/schedstat"))?,
        ticks: parse_stat(&stat).ok_or_else(|| bad("/proc/thread-self/stat"))?,
        wall: Instant::now(),
    })
}

impl Sample {
    /// The time from `self` to the later sample `later`.
    pub fn until(&self, later: &Sample) -> Elapsed {
        Elapsed {
            run_ns: later.run_ns.saturating_sub(self.run_ns),
            tick_ns: later.ticks.saturating_sub(self.ticks) * (1_000_000_000 / USER_HZ),
            wall_ns: u64::try_from(later.wall.duration_since(self.wall).as_nanos())
                .unwrap_or(u64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_lines() {
        assert_eq!(parse_schedstat("123456 789 10\n"), Some(123_456));
        assert_eq!(parse_schedstat(""), None);
        let stat = "8432 (a) b) c) R 8429 8429 6349 0 -1 4194304 101 0 0 0 17 5 0 0 20 0 1 0";
        assert_eq!(parse_stat(stat), Some(22));
        assert_eq!(parse_stat("no paren"), None);
    }

    #[test]
    fn busy_loop_shows_cpu_time() {
        let a = sample().unwrap();
        let mut x = 0u64;
        while a.wall.elapsed().as_millis() < 50 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let b = sample().unwrap();
        let e = a.until(&b);
        assert!(e.wall_ns >= 50_000_000);
        assert!(e.run_ns > 1_000_000, "run time {} ns", e.run_ns);
        assert!(e.run_ns <= e.wall_ns + 5_000_000);
    }
}
