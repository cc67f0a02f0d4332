//! CPU pinning for `ThreadPoolBuilder::pin_threads`: which CPUs this process may run on,
//! and pinning the calling thread to one of them.
//!
//! On Linux this is `sched_getaffinity` / `sched_setaffinity` through `libc`, with a CPU
//! mask as large as the kernel's (not capped at `CPU_SETSIZE`), so that the operating
//! system's error comes back as an [`io::Error`]. (`core_affinity` reads the same mask but
//! reports a refused pin only as `false`, and stops at 1024 CPUs.) Elsewhere pinning is
//! [`io::ErrorKind::Unsupported`].

use std::io;

/// The CPUs the calling thread may run on, in increasing order: its affinity mask, which a
/// thread inherits from the one that started it (so, unless the caller narrowed its own,
/// the process's: what `taskset` or a container's cpuset allow).
///
/// # Errors
///
/// The operating system's error if the mask cannot be read; `Unsupported` off Linux.
pub(crate) fn allowed_cpus() -> io::Result<Vec<usize>> {
    imp::allowed_cpus()
}

/// Pins the calling thread to `cpu` alone.
///
/// # Errors
///
/// The operating system's error if it refuses (`EINVAL` for a CPU this process may not use
/// or that does not exist); `Unsupported` off Linux.
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    imp::pin_current_thread(cpu)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;

    use libc::c_ulong;

    const WORD_BITS: usize = c_ulong::BITS as usize;

    /// The first mask size tried, in words: `CPU_SETSIZE` (1024 CPUs).
    const FIRST_WORDS: usize = 1024 / WORD_BITS;

    /// Masks larger than this many CPUs are not tried (Linux allows at most 8192).
    const MAX_CPUS: usize = 1 << 16;

    pub(super) fn allowed_cpus() -> io::Result<Vec<usize>> {
        let mut words = FIRST_WORDS;
        loop {
            let mut mask: Vec<c_ulong> = vec![0; words];
            // SAFETY: `mask` is valid for writes of `words` whole words, the size passed;
            // `cpu_set_t` is an array of `c_ulong`, so a longer buffer of them is a valid
            // (larger) CPU set for the kernel, which writes at most the size it is given.
            let result = unsafe {
                libc::sched_getaffinity(
                    0,
                    words * size_of::<c_ulong>(),
                    mask.as_mut_ptr().cast::<libc::cpu_set_t>(),
                )
            };
            if result == 0 {
                let cpus = mask
                    .iter()
                    .enumerate()
                    .flat_map(|(word, &bits)| {
                        (0..WORD_BITS)
                            .filter(move |bit| bits & (1 << bit) != 0)
                            .map(move |bit| word * WORD_BITS + bit)
                    })
                    .collect();
                return Ok(cpus);
            }
            let error = io::Error::last_os_error();
            // EINVAL: the kernel's mask is larger than ours.
            if error.raw_os_error() == Some(libc::EINVAL) && words * WORD_BITS < MAX_CPUS {
                words *= 2;
                continue;
            }
            return Err(error);
        }
    }

    pub(super) fn pin_current_thread(cpu: usize) -> io::Result<()> {
        if cpu >= MAX_CPUS {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let words = (cpu / WORD_BITS + 1).max(FIRST_WORDS);
        let mut mask: Vec<c_ulong> = vec![0; words];
        mask[cpu / WORD_BITS] |= 1 << (cpu % WORD_BITS);
        // SAFETY: `mask` is valid for reads of `words` whole words, the size passed (see
        // `allowed_cpus` for why a longer `c_ulong` buffer is a valid CPU set); pid 0 is
        // the calling thread.
        let result = unsafe {
            libc::sched_setaffinity(
                0,
                words * size_of::<c_ulong>(),
                mask.as_ptr().cast::<libc::cpu_set_t>(),
            )
        };
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "pinning threads to CPUs is only supported on Linux",
        )
    }

    pub(super) fn allowed_cpus() -> io::Result<Vec<usize>> {
        Err(unsupported())
    }

    pub(super) fn pin_current_thread(_cpu: usize) -> io::Result<()> {
        Err(unsupported())
    }
}

#[cfg(all(test, target_os = "linux", not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn allowed_cpus_match_the_kernels_list_for_this_thread() {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let list = status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim();
        let mut expected = Vec::new();
        for range in list.split(',') {
            match range.split_once('-') {
                Some((a, b)) => expected.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
                None => expected.push(range.parse().unwrap()),
            }
        }
        assert_eq!(allowed_cpus().unwrap(), expected);
    }

    #[test]
    fn pinning_to_an_allowed_cpu_leaves_the_thread_on_it_alone() {
        let cpu = *allowed_cpus().unwrap().last().unwrap();
        let mask = std::thread::spawn(move || {
            pin_current_thread(cpu).unwrap();
            allowed_cpus().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(mask, vec![cpu]);
    }

    /// The refusal a pinned pool turns into `BuildError::Affinity`: a CPU this process may
    /// not use (here one far beyond any this machine has) is the OS's `EINVAL`.
    #[test]
    fn pinning_to_a_cpu_that_does_not_exist_is_the_oss_einval() {
        let error = std::thread::spawn(|| pin_current_thread(4000).unwrap_err())
            .join()
            .unwrap();
        assert_eq!(error.raw_os_error(), Some(libc::EINVAL), "{error}");
        // Refused before asking the OS (no mask is that large), with the same error.
        let error = pin_current_thread(usize::MAX).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EINVAL));
    }
}
