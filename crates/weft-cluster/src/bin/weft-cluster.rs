//! `weft-cluster`: runs a program as a cluster of processes on this machine.
//!
//! ```text
//! weft-cluster -n 3 -- PROGRAM ARGS...
//! ```
//!
//! Finds `n` free ports on 127.0.0.1 (binding port 0), writes them to a hostfile, and runs
//! `PROGRAM ARGS... -n 3 -p i -h HOSTFILE` for `i` in `0..3`. Every line a process prints
//! comes out prefixed with `[i] ` (stdout to stdout, stderr to stderr). When a process
//! fails (a non-zero exit or a signal), the others are killed; the launcher then exits
//! with the first failure's code (128 + the signal for a signal), or 0 when all
//! succeeded.
//!
//! A port found free can be taken by someone else before the process binds it: that
//! process then fails with `ClusterError::Listen` ("Address already in use"); run the
//! command again. Programs that start processes of their own must stop them themselves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: weft-cluster -n PROCESSES -- PROGRAM [ARGS...]\n\
    runs PROGRAM ARGS -n PROCESSES -p INDEX -h HOSTFILE for every INDEX, on free loopback ports";

/// How long to wait for the output of processes that have all exited (a grandchild may
/// hold a pipe open).
const DRAIN: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("weft-cluster: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `-n N -- PROGRAM ARGS...` into (N, PROGRAM, ARGS).
fn parse(args: Vec<String>) -> Result<(usize, String, Vec<String>), String> {
    let split = args
        .iter()
        .position(|arg| arg == "--")
        .ok_or("missing `--` before the program")?;
    let (ours, program) = args.split_at(split);
    let program = &program[1..];
    let mut processes = None;
    let mut ours = ours.iter();
    while let Some(arg) = ours.next() {
        let value = match arg.as_str() {
            "-n" | "--processes" => ours.next().ok_or("-n needs a value")?.as_str(),
            other => match other
                .strip_prefix("--processes=")
                .or_else(|| other.strip_prefix("-n"))
            {
                Some(value) if !value.is_empty() => value,
                _ => return Err(format!("unknown flag {other:?}")),
            },
        };
        let n: usize = value
            .parse()
            .map_err(|_| format!("-n {value:?}: not a whole number"))?;
        if n == 0 {
            return Err("-n 0: a cluster needs at least one process".to_owned());
        }
        processes = Some(n);
    }
    let processes = processes.ok_or("missing -n PROCESSES")?;
    let (program, args) = program
        .split_first()
        .ok_or("missing the program after `--`")?;
    Ok((processes, program.clone(), args.to_vec()))
}

/// Distinct free ports on 127.0.0.1: all bound at once (so they differ), then released.
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("cannot find free ports: {error}"))?;
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|addr| addr.port()))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("cannot find free ports: {error}"))
}

/// The hostfile, removed when dropped.
struct Hostfile(PathBuf);

impl Drop for Hostfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Copies `stream` to our stdout or stderr, line by line, each prefixed with `[index] `.
fn relay(index: usize, stream: impl Read + Send + 'static, to_stderr: bool) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            let mut out: Box<dyn Write> = if to_stderr {
                Box::new(std::io::stderr().lock())
            } else {
                Box::new(std::io::stdout().lock())
            };
            let _ = write!(out, "[{index}] ")
                .and_then(|()| out.write_all(&line))
                .and_then(|()| out.flush());
        }
    })
}

fn exit_code(status: ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(255);
        }
    }
    status
        .code()
        .map_or(1, |code| u8::try_from(code).unwrap_or(1).max(1))
}

fn run(args: Vec<String>) -> Result<ExitCode, String> {
    let (processes, program, program_args) = parse(args)?;
    let ports = free_ports(processes)?;
    let hostfile = Hostfile(std::env::temp_dir().join(format!(
        "weft-cluster-{}-{}.hosts",
        std::process::id(),
        ports[0]
    )));
    let text: String = ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}\n"))
        .collect();
    std::fs::write(&hostfile.0, text).map_err(|error| {
        format!(
            "cannot write the hostfile {}: {error}",
            hostfile.0.display()
        )
    })?;

    let mut children: Vec<Option<Child>> = Vec::with_capacity(processes);
    let mut relays = Vec::new();
    for index in 0..processes {
        let spawned = Command::new(&program)
            .args(&program_args)
            .args(["-n", &processes.to_string(), "-p", &index.to_string(), "-h"])
            .arg(&hostfile.0)
            .stdin(if index == 0 {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Ok(mut child) => {
                relays.push(relay(index, child.stdout.take().expect("piped"), false));
                relays.push(relay(index, child.stderr.take().expect("piped"), true));
                children.push(Some(child));
            }
            Err(error) => {
                for child in children.iter_mut().flatten() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(format!("cannot start {program:?}: {error}"));
            }
        }
    }

    // Wait for all; the first failure stops the others.
    let mut failure: Option<(usize, ExitStatus)> = None;
    while children.iter().any(Option::is_some) {
        let mut changed = false;
        for index in 0..processes {
            let Some(child) = children[index].as_mut() else {
                continue;
            };
            let status = match child.try_wait() {
                Ok(Some(status)) => status,
                Ok(None) => continue,
                Err(error) => {
                    eprintln!("weft-cluster: cannot wait for process {index}: {error}");
                    let _ = child.kill();
                    child
                        .wait()
                        .map_err(|error| format!("cannot wait for process {index}: {error}"))?
                }
            };
            children[index] = None;
            changed = true;
            if !status.success() && failure.is_none() {
                eprintln!("weft-cluster: process {index} failed ({status}); stopping the others");
                failure = Some((index, status));
                for child in children.iter_mut().flatten() {
                    let _ = child.kill();
                }
            }
        }
        if !changed {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    let deadline = Instant::now() + DRAIN;
    for relay in relays {
        while !relay.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if relay.is_finished() {
            let _ = relay.join();
        }
    }
    Ok(match failure {
        None => ExitCode::SUCCESS,
        Some((_, status)) => ExitCode::from(exit_code(status)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_command_line_splits_at_the_double_dash() {
        let (n, program, args) = parse(words("-n 3 -- prog -x --y -- z")).unwrap();
        assert_eq!((n, program.as_str()), (3, "prog"));
        assert_eq!(args, ["-x", "--y", "--", "z"]);
        assert_eq!(parse(words("-n4 -- p")).unwrap().0, 4);
        assert_eq!(parse(words("--processes=2 -- p")).unwrap().0, 2);
    }

    #[test]
    fn a_bad_command_line_is_an_error_that_says_what_is_wrong() {
        assert!(parse(words("-n 3 prog")).unwrap_err().contains("--"));
        assert!(parse(words("-- prog")).unwrap_err().contains("-n"));
        assert!(parse(words("-n 0 -- prog")).unwrap_err().contains("-n 0"));
        assert!(
            parse(words("-n x -- prog"))
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(parse(words("-n 2 --")).unwrap_err().contains("program"));
        assert!(parse(words("-n 2 -q -- p")).unwrap_err().contains("-q"));
    }
}
