//! Starting real cluster processes on 127.0.0.1 from a test, with a hang guard.
//!
//! The test binary runs itself again as each process: `current_exe --ignored --exact
//! <child test>` with the scenario and the cluster flags in environment variables (libtest
//! would reject `-n`/`-p` on its command line). Every child prints its findings as lines
//! starting with `@@ `; the parent reads them with a deadline. [`Run`] kills and reaps every
//! child it started when it is dropped, also when the test fails, and every child kills
//! itself after [`CHILD_LIFETIME`], so that no process outlives the test.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub const SCENARIO_ENV: &str = "WEFT_CLUSTER_TEST_SCENARIO";
pub const ARGS_ENV: &str = "WEFT_CLUSTER_TEST_ARGS";
pub const CONNECT_MS_ENV: &str = "WEFT_CLUSTER_TEST_CONNECT_MS";
/// A child that is still running after this kills itself.
pub const CHILD_LIFETIME: Duration = Duration::from_secs(90);
/// How long the parent waits for any one expected line or exit.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// `n` distinct free ports on 127.0.0.1: bound together (so they differ), then released.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind port 0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// One line of a child's output, or its end.
#[derive(Debug)]
pub enum Event {
    Line { process: usize, line: String },
}

pub struct Run {
    pub processes: usize,
    pub hostfile: PathBuf,
    pub children: Vec<Option<Child>>,
    events: Receiver<Event>,
    /// Every line seen so far, for failure messages (stderr too).
    pub log: Vec<(usize, String)>,
}

/// Which processes to start, and how.
pub struct Spec<'a> {
    pub scenario: &'a str,
    pub processes: usize,
    /// Indices to start (the others never start).
    pub start: Vec<usize>,
    pub threads: usize,
    /// The hostfile's text instead of one line per free port.
    pub hostfile_text: Option<String>,
    /// Set in the children as `WEFT_CLUSTER_TEST_CONNECT_MS`: their connect timeout.
    pub connect_ms: Option<u64>,
}

impl<'a> Spec<'a> {
    pub fn new(scenario: &'a str, processes: usize) -> Spec<'a> {
        Spec {
            scenario,
            processes,
            start: (0..processes).collect(),
            threads: 1,
            hostfile_text: None,
            connect_ms: None,
        }
    }
}

/// The child's `main`: if this test binary was started as a cluster process, the scenario
/// name and its cluster flags.
pub fn child_role() -> Option<(String, Vec<String>)> {
    let scenario = std::env::var(SCENARIO_ENV).ok()?;
    let args = std::env::var(ARGS_ENV).unwrap_or_default();
    // The hang guard of the child itself.
    std::thread::spawn(|| {
        std::thread::sleep(CHILD_LIFETIME);
        eprintln!("cluster test child: still running after {CHILD_LIFETIME:?}, exiting");
        std::process::exit(97);
    });
    let mut words = vec!["child".to_owned()];
    words.extend(args.split_whitespace().map(str::to_owned));
    Some((scenario, words))
}

/// Prints a finding for the parent.
pub fn report(line: impl AsRef<str>) {
    println!("@@ {}", line.as_ref());
}

impl Run {
    /// Starts the processes of `spec` on fresh free ports; retries with other ports when a
    /// port turned out to be taken between finding it and a child binding it.
    pub fn start(child_test: &str, spec: &Spec<'_>) -> Run {
        for attempt in 0.. {
            let mut run = Run::start_once(child_test, spec);
            // A taken port shows as a Listen error in the first lines of some process.
            let taken = run.wait_for_any_line(Duration::from_millis(300), |line| {
                line.contains("Address already in use")
            });
            if taken.is_none() || attempt == 4 {
                return run;
            }
            eprintln!("a port was taken; retrying with new ports");
            drop(run);
        }
        unreachable!()
    }

    fn start_once(child_test: &str, spec: &Spec<'_>) -> Run {
        let ports = free_ports(spec.processes);
        let hostfile = std::env::temp_dir().join(format!(
            "weft-cluster-test-{}-{}-{}.hosts",
            std::process::id(),
            spec.scenario,
            ports[0]
        ));
        let text: String = match &spec.hostfile_text {
            Some(text) => text.clone(),
            None => ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect(),
        };
        std::fs::write(&hostfile, text).unwrap();
        let (sender, events) = mpsc::channel();
        let mut children: Vec<Option<Child>> = (0..spec.processes).map(|_| None).collect();
        for &index in &spec.start {
            let args = format!(
                "-n {} -p {index} -h {} -w {}",
                spec.processes,
                hostfile.display(),
                spec.threads
            );
            let mut command = Command::new(std::env::current_exe().unwrap());
            if let Some(ms) = spec.connect_ms {
                command.env(CONNECT_MS_ENV, ms.to_string());
            }
            let mut child = command
                .args([
                    "--ignored",
                    "--exact",
                    child_test,
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(SCENARIO_ENV, spec.scenario)
                .env(ARGS_ENV, args)
                .env("RUST_BACKTRACE", "0")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a cluster process");
            for stream in [
                Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
                Box::new(child.stderr.take().unwrap()),
            ] {
                let sender = sender.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(stream).lines() {
                        let Ok(line) = line else { break };
                        if sender
                            .send(Event::Line {
                                process: index,
                                line,
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
            children[index] = Some(child);
        }
        Run {
            processes: spec.processes,
            hostfile,
            children,
            events,
            log: Vec::new(),
        }
    }

    fn take_event(&mut self, timeout: Duration) -> Result<(usize, String), RecvTimeoutError> {
        let Event::Line { process, line } = self.events.recv_timeout(timeout)?;
        self.log.push((process, line.clone()));
        Ok((process, line))
    }

    fn wait_for_any_line(
        &mut self,
        within: Duration,
        found: impl Fn(&str) -> bool,
    ) -> Option<(usize, String)> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.take_event(left) {
                Ok((process, line)) if found(&line) => return Some((process, line)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// The next `@@ key ...` finding of `process`, within [`DEADLINE`]; panics (after which
    /// `Drop` kills everything) when it does not come.
    pub fn expect(&mut self, process: usize, key: &str) -> String {
        if let Some(found) = self
            .log
            .iter()
            .position(|(p, line)| *p == process && finding(line, key).is_some())
        {
            let (_, line) = self.log.remove(found);
            return finding(&line, key).unwrap().to_owned();
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Line { process: p, line }) => {
                    if p == process
                        && let Some(value) = finding(&line, key)
                    {
                        return value.to_owned();
                    }
                    self.log.push((p, line));
                }
                Err(_) => panic!(
                    "process {process} did not report {key:?} within {DEADLINE:?}; output so far:\n{}",
                    self.dump()
                ),
            }
        }
    }

    /// Waits for `process` to exit, within [`DEADLINE`] (then kills it and panics).
    pub fn wait(&mut self, process: usize) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        let child = self.children[process].as_mut().expect("a started process");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.children[process] = None;
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "process {process} did not exit within {DEADLINE:?}; output:\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for every started process, asserting each succeeded.
    pub fn wait_all_ok(&mut self) {
        for process in 0..self.processes {
            if self.children[process].is_some() {
                let status = self.wait(process);
                assert!(
                    status.success(),
                    "process {process} failed: {status}; output:\n{}",
                    self.dump()
                );
            }
        }
    }

    pub fn kill(&mut self, process: usize) {
        if let Some(mut child) = self.children[process].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn dump(&mut self) -> String {
        while let Ok(Event::Line { process, line }) = self.events.try_recv() {
            self.log.push((process, line));
        }
        self.log
            .iter()
            .map(|(p, line)| format!("[{p}] {line}\n"))
            .collect()
    }
}

fn finding<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    // libtest may have printed "test cluster_process ... " on the same line first.
    let at = line.find("@@ ")?;
    let rest = line[at + 3..].strip_prefix(key)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix(' ')
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.hostfile);
    }
}
