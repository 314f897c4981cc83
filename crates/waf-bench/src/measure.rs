//! The time-bounded measuring loop: a warm-up, then as many evaluations as fit in the budget (at least
//! `min_iterations`, at most `max_iterations`), with the thread's CPU clocks read once before and once after.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::cpu::{self, Elapsed};
use crate::error::BenchError;

/// How long to measure one (system, request) cell.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Warm-up time (caches, lazily built regexes, allocator).
    pub warmup: Duration,
    /// Measured time (wall clock; the loop stops at the first check past it).
    pub measure: Duration,
    /// Fewest measured iterations, whatever the time.
    pub min_iterations: u64,
    /// Most measured iterations.
    pub max_iterations: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            warmup: Duration::from_millis(300),
            measure: Duration::from_secs(2),
            min_iterations: 20,
            max_iterations: 10_000_000,
        }
    }
}

/// The result of one cell.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// Measured iterations.
    pub iterations: u64,
    /// Clock differences over the measured iterations.
    pub elapsed: Elapsed,
}

impl Measurement {
    /// CPU µs per iteration from the scheduler's run time.
    pub fn cpu_us(&self) -> f64 {
        per_iter_us(self.elapsed.run_ns, self.iterations)
    }

    /// CPU µs per iteration from utime+stime (10 ms resolution).
    pub fn tick_cpu_us(&self) -> f64 {
        per_iter_us(self.elapsed.tick_ns, self.iterations)
    }

    /// Wall µs per iteration.
    pub fn wall_us(&self) -> f64 {
        per_iter_us(self.elapsed.wall_ns, self.iterations)
    }
}

fn per_iter_us(ns: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        ns as f64 / 1_000.0 / n as f64
    }
}

/// Runs `f` for the warm-up, then measures it within `budget`.
pub fn measure<T, F: FnMut() -> T>(budget: &Budget, mut f: F) -> Result<Measurement, BenchError> {
    let start = Instant::now();
    let mut warm = 0u64;
    while warm < 3 || start.elapsed() < budget.warmup {
        black_box(f());
        warm += 1;
    }
    // Check the clock about every 200 µs of work rather than on every iteration.
    let per_iter = start.elapsed().as_nanos() / u128::from(warm.max(1));
    let batch = u64::try_from((200_000 / per_iter.max(1)).clamp(1, 1_000)).unwrap_or(1);
    let before = cpu::sample()?;
    let mut n = 0u64;
    loop {
        for _ in 0..batch {
            black_box(f());
        }
        n += batch;
        if n >= budget.max_iterations
            || (n >= budget.min_iterations && before.wall.elapsed() >= budget.measure)
        {
            break;
        }
    }
    let after = cpu::sample()?;
    Ok(Measurement {
        iterations: n,
        elapsed: before.until(&after),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_known_cost_roughly() {
        let budget = Budget {
            warmup: Duration::from_millis(10),
            measure: Duration::from_millis(150),
            min_iterations: 5,
            max_iterations: 1_000_000,
        };
        // Spin ~100 µs of wall time per call.
        let m = measure(&budget, || {
            let t = Instant::now();
            let mut x = 0u64;
            while t.elapsed() < Duration::from_micros(100) {
                x = black_box(x + 1);
            }
            x
        })
        .unwrap();
        assert!(m.iterations >= 5);
        assert!(m.wall_us() >= 100.0, "wall {}", m.wall_us());
        assert!(
            m.cpu_us() > 10.0 && m.cpu_us() <= m.wall_us() * 1.05,
            "cpu {}",
            m.cpu_us()
        );
    }

    #[test]
    fn respects_max_iterations() {
        let budget = Budget {
            warmup: Duration::ZERO,
            measure: Duration::from_secs(10),
            min_iterations: 1,
            max_iterations: 50,
        };
        let mut calls = 0u64;
        let m = measure(&budget, || calls += 1).unwrap();
        assert!(m.iterations >= 50 && m.iterations < 50 + 1_000);
        assert!(calls >= m.iterations);
    }
}
