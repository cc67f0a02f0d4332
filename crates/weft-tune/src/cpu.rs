//! CPU time of the whole process (every thread, live or exited), from `/proc/self/stat`.
//!
//! Read from procfs rather than `getrusage` so the crate needs no `libc` and no `unsafe`.
//! The kernel reports in clock ticks of `USER_HZ`, which is 100 per second on every Linux
//! architecture Rust supports: a reading is exact to 10 ms, so a sweep adds the ticks of
//! all the runs of one pool size before it divides by the number of runs. On systems
//! without procfs the times read as zero and [`CpuTimes::available`] says so.

use std::time::Duration;

/// `USER_HZ`: clock ticks per second in `/proc/<pid>/stat` (fixed by the kernel ABI).
const TICKS_PER_SEC: u64 = 100;

/// User and system CPU time consumed by the process so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    pub(crate) user: Duration,
    pub(crate) system: Duration,
}

impl CpuTimes {
    /// The process's CPU times now (zero where `/proc/self/stat` cannot be read).
    pub(crate) fn now() -> CpuTimes {
        read().unwrap_or_default()
    }

    /// `true` when this system reports CPU times.
    pub(crate) fn available() -> bool {
        read().is_some()
    }

    /// The CPU time spent since `earlier`.
    pub(crate) fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    /// The sum of two spans of CPU time.
    pub(crate) fn add(self, other: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user + other.user,
            system: self.system + other.system,
        }
    }
}

fn read() -> Option<CpuTimes> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// Parses `utime` and `stime` (fields 14 and 15) out of a `/proc/<pid>/stat` line.
///
/// The second field, the command name, is in parentheses and may hold spaces and
/// parentheses itself, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<CpuTimes> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come field 3 (state), 4, ...; utime is field 14, stime field 15.
    let mut fields = after_name.split_ascii_whitespace().skip(14 - 3);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(CpuTimes {
        user: ticks(user),
        system: ticks(system),
    })
}

fn ticks(count: u64) -> Duration {
    Duration::from_millis(count * (1000 / TICKS_PER_SEC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime_even_when_the_name_has_spaces_and_parens() {
        let line = "4242 (weft (tune) x) R 1 4242 4242 0 -1 4194304 120 0 0 0 \
                    250 37 0 0 20 0 3 0 12345 1000000 200 18446744073709551615";
        let times = parse_stat(line).unwrap();
        assert_eq!(times.user, Duration::from_millis(2500));
        assert_eq!(times.system, Duration::from_millis(370));
    }

    #[test]
    fn a_truncated_line_is_not_parsed() {
        assert_eq!(parse_stat("1 (x) R 1 2 3"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn busy_work_shows_up_as_cpu_time() {
        if !CpuTimes::available() {
            return;
        }
        let before = CpuTimes::now();
        let start = std::time::Instant::now();
        let mut x = 1u64;
        // Spin until the ticks move (giving up after a generous while on a loaded machine).
        loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
            let spent = CpuTimes::now().since(before);
            if spent.user + spent.system >= Duration::from_millis(30) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no CPU time: {spent:?}"
            );
        }
    }
}
