//! The sweep's progress on stderr: a bar with the time to go on a terminal; elsewhere (a
//! pipe, a log file, CI) one plain line per round.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use weft_tune::{Progress, ProgressEvent};

/// Where progress goes.
pub(crate) enum Display {
    Bar(ProgressBar),
    Lines,
}

/// `about 1 min 20 s to go`, `about 35 s to go`, `time to go unknown yet`.
fn to_go(eta: Option<Duration>) -> String {
    match eta {
        Some(eta) if eta >= Duration::from_secs(60) => {
            let secs = eta.as_secs();
            format!("about {} min {} s to go", secs / 60, secs % 60)
        }
        Some(eta) => format!("about {:.0} s to go", eta.as_secs_f64().ceil()),
        None => "time to go known after round 1".to_owned(),
    }
}

impl Display {
    pub(crate) fn new(total_runs: usize) -> Display {
        if !std::io::stderr().is_terminal() {
            return Display::Lines;
        }
        let bar = ProgressBar::new(total_runs as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed:>4} [{bar:30}] {pos}/{len} runs  {msg}",
            )
            .expect("a valid progress template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Display::Bar(bar)
    }

    pub(crate) fn update(&mut self, progress: &Progress) {
        match self {
            Display::Bar(bar) => match progress.event {
                ProgressEvent::Run => {
                    bar.set_position(progress.done as u64);
                    bar.set_message(format!(
                        "round {}/{}{}: {}; {}",
                        progress.round,
                        progress.rounds,
                        if progress.warmup { " (warm-up)" } else { "" },
                        progress.label,
                        to_go(progress.eta)
                    ));
                }
                ProgressEvent::RoundDone => bar.set_position(progress.done as u64),
                ProgressEvent::Done => bar.finish_and_clear(),
            },
            Display::Lines => {
                if progress.event == ProgressEvent::RoundDone {
                    eprintln!(
                        "weft-tune: {} after {:.1} s ({}/{} runs); {}",
                        progress.label,
                        progress.elapsed.as_secs_f64(),
                        progress.done,
                        progress.total,
                        to_go(progress.eta)
                    );
                }
            }
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // A sweep that stopped with an error leaves no bar behind.
        if let Display::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
