//! Giving memory back to the system after a burst.
//!
//! glibc's allocator keeps what a burst freed inside its arenas: measured
//! with 1,000 held streams (`bench/run.sh`), RSS was 77 MB at the peak and
//! still 71 MB a minute after the last stream ended, though almost none of
//! it was in use. `malloc_trim(0)` hands the free pages of every arena back
//! to the kernel: after it the same process was at 20 MB (7 MB anonymous).
//! Other allocators were measured as replacements (`LD_PRELOAD`, same load):
//! jemalloc with a one-second decay gave 25 MB a minute after but an 85 MB
//! peak and 15 MB idle; mimalloc kept 69 MB. So glibc stays, and trims.
//!
//! A task samples the responses every [`TICK`]. When some ended since the
//! last trim and the gateway has gone quiet (none in flight, or the load
//! fell to half of the busiest sample since, by at least [`MIN_DROP`]), it
//! trims once on the blocking pool. A trim of a small heap takes
//! microseconds, of a large one a few milliseconds, so trimming at most
//! once a tick costs nothing a request would notice.
//!
//! Only on Linux with glibc; elsewhere the task is not started.

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::Metrics;

/// How often the load is sampled.
const TICK: Duration = Duration::from_secs(5);
/// The smallest fall in responses in flight (from the busiest sample since
/// the last trim) that counts as quiet while some are still running.
const MIN_DROP: u64 = 32;

/// When to trim, from samples of `(in flight, ended since start)`.
#[derive(Debug, Default)]
struct TrimPolicy {
    ended_at_last_trim: u64,
    busiest_since: u64,
}

impl TrimPolicy {
    /// Takes a sample; whether to trim now.
    fn sample(&mut self, in_flight: u64, ended: u64) -> bool {
        self.busiest_since = self.busiest_since.max(in_flight);
        if ended == self.ended_at_last_trim {
            return false;
        }
        let fell = self.busiest_since - in_flight;
        let quiet = in_flight == 0 || (fell >= MIN_DROP && fell * 2 >= self.busiest_since);
        if quiet {
            self.ended_at_last_trim = ended;
            self.busiest_since = in_flight;
        }
        quiet
    }
}

/// Starts the trimming task (a no-op where the allocator is not glibc's).
pub fn spawn(metrics: Arc<Metrics>) {
    if !trim::AVAILABLE {
        return;
    }
    tokio::spawn(async move {
        let mut policy = TrimPolicy::default();
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let (in_flight, ended) = metrics.responses();
            if policy.sample(in_flight, ended) {
                let _ = tokio::task::spawn_blocking(trim::release_free_memory).await;
            }
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod trim {
    pub const AVAILABLE: bool = true;

    unsafe extern "C" {
        /// glibc, `<malloc.h>`: releases free memory at the top of the
        /// heap and, since glibc 2.8, every free page of every arena.
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }

    pub fn release_free_memory() {
        // SAFETY: malloc_trim takes no pointers and has no preconditions; it
        // locks each arena itself, so it is safe to call from any thread
        // while others allocate.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod trim {
    pub const AVAILABLE: bool = false;

    pub fn release_free_memory() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_when_the_gateway_goes_quiet() {
        let mut policy = TrimPolicy::default();
        assert!(!policy.sample(0, 0), "nothing happened yet");
        assert!(!policy.sample(1000, 0), "busy");
        assert!(!policy.sample(1000, 10), "busy, some ended");
        assert!(policy.sample(0, 1010), "all ended");
        assert!(!policy.sample(0, 1010), "nothing new since the trim");
        assert!(policy.sample(0, 1011), "light traffic, quiet again");
    }

    #[test]
    fn trims_when_the_load_falls_by_half() {
        let mut policy = TrimPolicy::default();
        assert!(!policy.sample(100, 0));
        assert!(!policy.sample(60, 40), "fell by 40 of 100: not half");
        assert!(
            policy.sample(50, 50),
            "fell by half, and by at least MIN_DROP"
        );
        assert!(
            !policy.sample(40, 60),
            "measured from the trim's sample now"
        );
    }

    #[test]
    fn a_small_fall_is_not_quiet() {
        let mut policy = TrimPolicy::default();
        assert!(!policy.sample(40, 0));
        assert!(!policy.sample(20, 20), "half, but fewer than MIN_DROP");
        assert!(policy.sample(0, 40));
    }

    /// Resident bytes of this process.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn resident() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn trimming_gives_freed_memory_back() {
        // 64 MB in 16 KiB blocks (below glibc's mmap threshold, so inside an
        // arena), each followed by a small block that stays: freeing the
        // large ones leaves holes that glibc keeps without a trim.
        let mut large = Vec::new();
        let mut small = Vec::new();
        for n in 0..4096u32 {
            large.push(vec![n as u8 | 1; 16 * 1024]);
            small.push(vec![n as u8; 64]);
        }
        drop(large);
        let before = resident();
        trim::release_free_memory();
        let after = resident();
        assert!(
            before.saturating_sub(after) > 32 << 20,
            "resident {before} before the trim, {after} after"
        );
        assert!(small.iter().enumerate().all(|(n, v)| v[63] == n as u8));
    }
}
