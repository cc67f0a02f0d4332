//! CPU time of the whole process (every thread, live or exited) and of its waited-for
//! children, from `/proc/self/stat`; the whole machine's CPU time from `/proc/stat`.
//!
//! Read from procfs rather than `getrusage` so the crate needs no `libc` and no `unsafe`.
//! The kernel reports in clock ticks of `USER_HZ`, which is 100 per second on every Linux
//! architecture Rust supports: a reading is exact to 10 ms, so a sweep adds the ticks of
//! all the runs of one pool size before it divides by the number of runs. On systems
//! without procfs the times read as zero and [`CpuTimes::available`] says so.

use std::time::Duration;

/// `USER_HZ`: clock ticks per second in `/proc/<pid>/stat` (fixed by the kernel ABI).
const TICKS_PER_SEC: u64 = 100;

/// User and system CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    pub(crate) user: Duration,
    pub(crate) system: Duration,
}

impl CpuTimes {
    /// The process's own CPU times now (zero where `/proc/self/stat` cannot be read).
    pub(crate) fn now() -> CpuTimes {
        read().map_or_else(CpuTimes::default, |(own, _)| own)
    }

    /// The CPU times of the children this process has waited for, now.
    pub(crate) fn children_now() -> CpuTimes {
        read().map_or_else(CpuTimes::default, |(_, children)| children)
    }

    /// User plus system time.
    pub(crate) fn total(self) -> Duration {
        self.user + self.system
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

fn read() -> Option<(CpuTimes, CpuTimes)> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// Parses `utime`, `stime`, `cutime` and `cstime` (fields 14 to 17) out of a
/// `/proc/<pid>/stat` line: the process's own times and its waited-for children's.
///
/// The second field, the command name, is in parentheses and may hold spaces and
/// parentheses itself, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(CpuTimes, CpuTimes)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come field 3 (state), 4, ...; utime is field 14.
    let mut fields = after_name.split_ascii_whitespace().skip(14 - 3);
    let mut next = || -> Option<Duration> { Some(ticks(fields.next()?.parse().ok()?)) };
    let own = CpuTimes {
        user: next()?,
        system: next()?,
    };
    let children = CpuTimes {
        user: next()?,
        system: next()?,
    };
    Some((own, children))
}

/// The whole machine's CPU time so far, summed over every CPU, from the `cpu` line of
/// `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MachineTicks {
    /// Time spent running something (user, nice, system, irq, softirq), in ticks.
    pub(crate) busy: u64,
    /// Time the hypervisor gave this machine's CPUs to someone else (steal), in ticks.
    pub(crate) steal: u64,
    /// Every tick counted (busy, idle, iowait and steal).
    pub(crate) total: u64,
}

impl MachineTicks {
    /// The machine's counters now, where `/proc/stat` can be read.
    pub(crate) fn now() -> Option<MachineTicks> {
        parse_machine(&std::fs::read_to_string("/proc/stat").ok()?)
    }
}

/// `USER_HZ` as a float, to turn ticks into seconds.
pub(crate) const TICKS_PER_SEC_F64: f64 = TICKS_PER_SEC as f64;

/// Parses the first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq
/// steal guest guest_nice` (guest time is already inside user and nice).
fn parse_machine(stat: &str) -> Option<MachineTicks> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let field = |index: usize| values.get(index).copied().unwrap_or(0);
    let (user, nice, system, idle, iowait, irq, softirq, steal) = (
        field(0),
        field(1),
        field(2),
        field(3),
        field(4),
        field(5),
        field(6),
        field(7),
    );
    if values.len() < 4 {
        return None;
    }
    let busy = user + nice + system + irq + softirq;
    Some(MachineTicks {
        busy,
        steal,
        total: busy + idle + iowait + steal,
    })
}

/// The 1-minute load average, from `/proc/loadavg`.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
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
        let (own, children) = parse_stat(line).unwrap();
        assert_eq!(own.user, Duration::from_millis(2500));
        assert_eq!(own.system, Duration::from_millis(370));
        assert_eq!(children, CpuTimes::default());
        let line = "7 (sh) S 1 7 7 0 -1 0 0 0 0 0 5 6 700 80 20 0 1 0 1 1 1";
        let (_, children) = parse_stat(line).unwrap();
        assert_eq!(children.user, Duration::from_millis(7000));
        assert_eq!(children.system, Duration::from_millis(800));
    }

    #[test]
    fn the_machine_line_of_proc_stat_splits_busy_idle_and_steal() {
        let stat = "cpu  100 5 20 1000 10 1 2 30 0 0\ncpu0 50 2 10 500 5 0 1 15 0 0\n";
        let ticks = parse_machine(stat).unwrap();
        assert_eq!(ticks.busy, 100 + 5 + 20 + 1 + 2);
        assert_eq!(ticks.steal, 30);
        assert_eq!(ticks.total, 128 + 1000 + 10 + 30);
        assert_eq!(parse_machine("intr 1 2 3"), None);
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
