//! [`Lifecycle`]: what happens on a worker thread before its first job and after its last:
//! pinning to a CPU (`pin_threads`), `on_thread_start` and `on_thread_stop`, and the start
//! handshake through which `build()` learns that every worker started (or why one did not).
//!
//! Each worker, first thing in `main_loop`, pins itself (when asked) and runs
//! `on_thread_start`, then reports to [`Lifecycle::wait_started`], which `Registry::start`
//! calls after spawning every thread, and waits until the builder [releases](Lifecycle::release)
//! it. A worker whose start failed reports why and exits at once without running jobs or
//! `on_thread_stop`; the builder then stops and joins all the others and returns the
//! failure of the lowest index. A worker that started runs `on_thread_stop` after its last
//! job, whatever else happens; a panic there is reported through `tracing` and the thread
//! still ends normally.
//!
//! Only a start that can fail (an `on_thread_start` hook, or pinning) needs the handshake:
//! without either, a worker goes straight to its main loop, and `build` returns as soon as
//! the threads are spawned, as it would without this module.
//!
//! Spare threads (slots from `num_threads` on, started after the build while workers are
//! blocked, see `registry.rs`) pin themselves and run both hooks too, with their slot
//! index, but take no part in the handshake: the build has returned by then, so a failure
//! of a spare's start is reported through `tracing`, and the spare runs jobs anyway (the
//! pool counts on it to stand in for a blocked worker).
//!
//! Holding the started workers until the release keeps the build fast: otherwise the first
//! workers look for work (spinning, stealing from every other worker) while the builder
//! is still spawning the rest, and with hundreds of threads on a few cores the builder
//! gets a small share of the CPU. Blocked on a condition variable they cost nothing.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, PoisonError};

use crate::engine::affinity;
use crate::error::{AffinityError, BuildError, panic_message};
use crate::job::heap::drop_quietly;
use crate::sync::{Condvar, Mutex};

/// `on_thread_start` / `on_thread_stop`: called with the worker's index.
pub(crate) type Hook = Arc<dyn Fn(usize) + Send + Sync>;

/// One pool's start and end of worker threads (see the module docs).
pub(crate) struct Lifecycle {
    on_start: Option<Hook>,
    on_stop: Option<Hook>,
    /// When the pool is pinned, the CPUs to pin to: thread `i` on the `i`-th, wrapping.
    cpus: Option<Box<[usize]>>,
    /// Slots below this are worker threads (in the handshake); the others are spares.
    num_threads: usize,
    /// A worker's start can fail (a start hook, or pinning): workers report and wait.
    handshake: bool,
    starting: Mutex<Starting>,
    /// The builder waits on it for the last report.
    all_reported: Condvar,
    /// The workers wait on it for the release.
    released: Condvar,
}

/// The start reports not yet in, the failure with the lowest index so far, and whether the
/// builder let the workers go.
struct Starting {
    remaining: usize,
    failure: Option<(usize, BuildError)>,
    released: bool,
}

impl Lifecycle {
    /// `cpus`, when given, is not empty.
    pub(crate) fn new(
        num_threads: usize,
        on_start: Option<Hook>,
        on_stop: Option<Hook>,
        cpus: Option<Box<[usize]>>,
    ) -> Self {
        debug_assert!(cpus.as_ref().is_none_or(|cpus| !cpus.is_empty()));
        Lifecycle {
            handshake: on_start.is_some() || cpus.is_some(),
            on_start,
            on_stop,
            cpus,
            num_threads,
            starting: Mutex::new(Starting {
                remaining: num_threads,
                failure: None,
                released: false,
            }),
            all_reported: Condvar::new(),
            released: Condvar::new(),
        }
    }

    /// The CPUs threads are pinned to (thread `i` on the `i`-th, wrapping), when pinned.
    pub(crate) fn cpus(&self) -> Option<&[usize]> {
        self.cpus.as_deref()
    }

    /// On the thread of slot `index`, before its first job: pins it and runs
    /// `on_thread_start`; a worker thread then reports the outcome and waits for the
    /// [release](Self::release). `false`: the start of a worker thread failed and it must
    /// exit at once. A spare's failure is only reported through `tracing` (see the module
    /// docs).
    pub(crate) fn start_thread(&self, index: usize) -> bool {
        // Without the handshake nothing can fail here: there is nothing to do.
        if index >= self.num_threads || !self.handshake {
            if let Err(failure) = self.try_start(index) {
                tracing::error!(index, %failure, "a spare thread's start failed; it runs jobs anyway");
            }
            return true;
        }
        let failure = self.try_start(index).err();
        let started = failure.is_none();
        let mut starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(failure) = failure
            && starting
                .failure
                .as_ref()
                .is_none_or(|(first, _)| index < *first)
        {
            starting.failure = Some((index, failure));
        }
        starting.remaining -= 1;
        if starting.remaining == 0 {
            self.all_reported.notify_all();
        }
        if started {
            while !starting.released {
                starting = self
                    .released
                    .wait(starting)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        started
    }

    fn try_start(&self, index: usize) -> Result<(), BuildError> {
        if let Some(cpus) = &self.cpus {
            let cpu = cpus[index % cpus.len()];
            affinity::pin_current_thread(cpu).map_err(|source| {
                BuildError::Affinity(AffinityError {
                    index: Some(index),
                    cpu: Some(cpu),
                    source,
                })
            })?;
        }
        if let Some(on_start) = &self.on_start
            && let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| on_start(index)))
        {
            let message = panic_message(&payload).unwrap_or("Box<dyn Any>").to_owned();
            drop_quietly(payload);
            return Err(BuildError::ThreadStart { index, message });
        }
        Ok(())
    }

    /// On the building thread, once every worker was spawned: waits until each reported
    /// its start, and returns the failure of the lowest index if any.
    pub(crate) fn wait_started(&self) -> Result<(), BuildError> {
        if !self.handshake {
            return Ok(());
        }
        let mut starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
        while starting.remaining > 0 {
            starting = self
                .all_reported
                .wait(starting)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match starting.failure.take() {
            Some((_, failure)) => Err(failure),
            None => Ok(()),
        }
    }

    /// On the building thread: lets the started workers go on to their main loop (to run
    /// jobs, or to exit when the build failed and the pool terminates). Idempotent.
    pub(crate) fn release(&self) {
        if !self.handshake {
            return;
        }
        let mut starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
        if !starting.released {
            starting.released = true;
            self.released.notify_all();
        }
    }

    /// On the thread of slot `index`, after its last job (only if it started): runs
    /// `on_thread_stop`; a panic there is reported through `tracing`, and the thread still
    /// ends normally.
    pub(crate) fn stop_thread(&self, index: usize) {
        let Some(on_stop) = &self.on_stop else {
            return;
        };
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| on_stop(index))) {
            tracing::error!(
                worker = index,
                panic = panic_message(&payload).unwrap_or("Box<dyn Any>"),
                "on_thread_stop panicked"
            );
            drop_quietly(payload);
        }
    }
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("on_start", &self.on_start.is_some())
            .field("on_stop", &self.on_stop.is_some())
            .field("cpus", &self.cpus)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, target_os = "linux", not(weft_loom)))]
mod tests {
    use crate::engine::affinity;
    use crate::engine::registry::{Config, Registry};
    use crate::error::BuildError;

    fn threads_named(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    /// The refusal path of `pin_threads` end to end, through the real OS call: the CPU list
    /// puts worker 1 on a CPU that does not exist (the builder only ever lists CPUs of the
    /// process's mask, which the OS does not refuse; this forges the list instead).
    #[test]
    fn a_cpu_the_os_refuses_is_an_affinity_error_naming_the_worker_and_no_thread_is_left() {
        let first = affinity::allowed_cpus().unwrap()[0];
        let config = Config {
            num_threads: 3,
            thread_name: Some(Box::new(|index| format!("refusepin-{index}"))),
            stack_size: None,
            max_queued: None,
            max_spare_threads: 0,
            record_timing: false,
            on_thread_start: None,
            on_thread_stop: None,
            cpus: Some(vec![first, 4000].into_boxed_slice()),
        };
        let Err(error) = Registry::start(config) else {
            panic!("the OS pinned a thread to CPU 4000");
        };
        let BuildError::Affinity(affinity) = &error else {
            panic!("expected BuildError::Affinity, got {error:?}");
        };
        assert_eq!((affinity.index, affinity.cpu), (Some(1), Some(4000)));
        assert_eq!(affinity.source.raw_os_error(), Some(libc::EINVAL));
        let text = error.to_string();
        assert!(
            text.contains("worker thread 1") && text.contains("4000"),
            "{text}"
        );
        assert!(std::error::Error::source(&error).is_some());
        // Joined before `start` returned; the kernel may list a joined thread a moment longer.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while threads_named("refusepin-") > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "a worker was left running"
            );
            std::thread::yield_now();
        }
    }
}
