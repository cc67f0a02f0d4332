//! One timed run of an outside program, for [`Sweep::command`](crate::Sweep::command):
//! `WEFT_NUM_THREADS` set to the pool size, the whole process timed from spawn to exit.

use std::ffi::OsString;
use std::io::Read as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cpu::CpuTimes;

/// The program and its arguments, and how long one run may take.
#[derive(Debug, Clone)]
pub(crate) struct CommandSpec {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) timeout: Duration,
}

/// How a run of the command went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunFailure {
    /// It could not be started.
    Spawn(String),
    /// It exited unsuccessfully; the last line it wrote to stderr, if any.
    Failed {
        status: String,
        last_stderr_line: Option<String>,
    },
    /// It ran longer than the timeout and was killed.
    TimedOut,
}

/// Keeps at most this much of the command's stderr (its end).
const STDERR_TAIL: usize = 16 * 1024;

impl CommandSpec {
    /// `program args...` as one line, for messages.
    pub(crate) fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|part| part.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command once with `WEFT_NUM_THREADS=threads`, stdin and stdout closed to it
    /// (its stdout goes to `/dev/null`), its stderr kept for the error message; returns
    /// the wall-clock time from spawn to exit and the CPU time it used.
    pub(crate) fn run(&self, threads: usize) -> Result<(Duration, CpuTimes), RunFailure> {
        let cpu_before = CpuTimes::children_now();
        let start = Instant::now();
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .env(weft::NUM_THREADS_ENV, threads.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| RunFailure::Spawn(error.to_string()))?;
        let mut stderr = child.stderr.take().expect("stderr was piped");
        let (tail_sender, tail_receiver) = std::sync::mpsc::channel();
        // The reader is never joined: a grandchild that keeps the pipe open must not hang
        // the sweep. It ends when the last writer closes the pipe.
        std::thread::spawn(move || {
            let mut tail = Vec::new();
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stderr.read(&mut buffer) {
                tail.extend_from_slice(&buffer[..read]);
                if tail.len() > 2 * STDERR_TAIL {
                    tail.drain(..tail.len() - STDERR_TAIL);
                }
            }
            let _ = tail_sender.send(tail);
        });
        let status = wait_with_timeout(&mut child, start, self.timeout);
        let wall = start.elapsed();
        let cpu = CpuTimes::children_now().since(cpu_before);
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunFailure::TimedOut);
        };
        if status.success() {
            Ok((wall, cpu))
        } else {
            // The rest of stderr, once the pipe closes (at the latest a second after exit).
            let tail = tail_receiver
                .recv_timeout(Duration::from_secs(1))
                .unwrap_or_default();
            Err(RunFailure::Failed {
                status: status.to_string(),
                last_stderr_line: String::from_utf8_lossy(&tail)
                    .lines()
                    .map(str::trim)
                    .rfind(|line| !line.is_empty())
                    .map(str::to_owned),
            })
        }
    }
}

/// Waits for `child` to exit, for at most `timeout` after `start`; `None` on timeout (or
/// if waiting fails).
///
/// It polls, sleeping a thousandth of the time the child has run so far between polls
/// (50 us at first, 5 ms at most): the exit is seen within 0.1% of the run time, which is
/// what the measurement can tell apart, without a thread of its own.
fn wait_with_timeout(child: &mut Child, start: Instant, timeout: Duration) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return None;
        }
        let pause = (elapsed / 1000).clamp(Duration::from_micros(50), Duration::from_millis(5));
        std::thread::sleep(pause.min(timeout - elapsed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> CommandSpec {
        CommandSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            timeout,
        }
    }

    #[test]
    fn the_pool_size_reaches_the_command_through_the_environment() {
        let spec = sh(
            r#"test "$WEFT_NUM_THREADS" = 3 || { echo "got $WEFT_NUM_THREADS" >&2; exit 1; }"#,
            Duration::from_secs(30),
        );
        assert!(spec.run(3).is_ok());
        assert_eq!(
            spec.run(2),
            Err(RunFailure::Failed {
                status: "exit status: 1".to_owned(),
                last_stderr_line: Some("got 2".to_owned()),
            })
        );
    }

    #[test]
    fn a_command_that_does_not_exist_fails_to_spawn() {
        let spec = CommandSpec {
            program: "/nonexistent/weft-program".into(),
            args: Vec::new(),
            timeout: Duration::from_secs(5),
        };
        assert!(matches!(spec.run(1), Err(RunFailure::Spawn(_))));
    }

    #[test]
    fn a_command_that_runs_too_long_is_killed_at_the_timeout() {
        let spec = sh("sleep 30", Duration::from_millis(200));
        let start = Instant::now();
        assert_eq!(spec.run(1), Err(RunFailure::TimedOut));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn the_display_joins_program_and_arguments() {
        assert_eq!(sh("true", Duration::ZERO).display(), "sh -c true");
    }
}
