//! The terminal table: `impl Display for Report`.

use std::fmt::{self, Write as _};

use crate::report::{Measurement, Report, Series, SizeResult};
use crate::stats::{CONFIDENCE_PERCENT, Estimate, format_estimate, threads_phrase};
use crate::units::{format_rate, format_secs};

fn speedup(estimate: Option<&Estimate>) -> String {
    estimate.map_or_else(String::new, |e| format!("{:.2}x", e.median))
}

fn interval(estimate: Option<&Estimate>) -> String {
    estimate.map_or_else(String::new, |e| {
        format!("{:.2}x-{:.2}x", e.ci95.low, e.ci95.high)
    })
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v:.0}%"))
}

/// The columns, in order; the group each belongs to.
const COLUMNS: [(&str, &str); 14] = [
    ("", "threads"),
    ("time", "median"),
    ("time", "p10"),
    ("time", "p90"),
    ("rate", "throughput"),
    ("vs 1 thread", "speed-up"),
    ("vs 1 thread", "interval"),
    ("vs 1 thread", "effic."),
    ("vs plain threads", "limit"),
    ("vs plain threads", "of limit"),
    ("vs sequential", "speed-up"),
    ("vs sequential", "effic."),
    ("vs unpinned", "speed-up"),
    ("", "CPU/run"),
];

/// One row's cells, in column order, and what goes after them.
struct Row {
    cells: [String; 14],
    note: String,
}

fn time_cells(measurement: &Measurement) -> [String; 3] {
    let timing = &measurement.timing;
    [
        format_secs(timing.median_secs),
        format_secs(timing.p10_secs),
        format_secs(timing.p90_secs),
    ]
}

fn throughput(items: Option<u64>, measurement: &Measurement) -> String {
    let median = measurement.timing.median_secs;
    if median > 0.0 {
        format_rate(items.unwrap_or(1) as f64 / median)
    } else {
        "-".to_owned()
    }
}

fn cpu(measurement: &Measurement, available: bool) -> String {
    if available {
        format_secs(measurement.cpu_user_secs + measurement.cpu_system_secs)
    } else {
        "-".to_owned()
    }
}

/// Footnotes collected while the rows are made: `[1]`, `[2]`, ...
#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn mark(&mut self, who: &str, notes: &[String]) -> String {
        notes
            .iter()
            .map(|note| {
                self.0.push(format!("{who}: {note}"));
                format!("[{}]", self.0.len())
            })
            .collect::<Vec<_>>()
            .join("")
    }
}

impl Report {
    fn rows(&self, series: &Series, notes: &mut Notes) -> Vec<Row> {
        let mut rows = Vec::new();
        if let Some(sequential) = &series.sequential {
            let [median, p10, p90] = time_cells(sequential);
            rows.push(Row {
                cells: [
                    "sequential".to_owned(),
                    median,
                    p10,
                    p90,
                    throughput(series.items_per_run, sequential),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    "1.00x".to_owned(),
                    String::new(),
                    String::new(),
                    cpu(sequential, self.cpu_times_available),
                ],
                note: String::new(),
            });
        }
        for size in &series.sizes {
            let mut note = notes.mark(&self.who(series, size), &size.notes);
            let pick = &series.recommendation;
            if size.threads == pick.threads {
                note.push_str(" <- recommended");
            } else if size.threads == pick.best_threads {
                note.push_str(" <- best median");
            }
            let [median, p10, p90] = time_cells(&size.measurement);
            rows.push(Row {
                cells: [
                    size.threads.to_string(),
                    median,
                    p10,
                    p90,
                    throughput(series.items_per_run, &size.measurement),
                    speedup(Some(&size.speedup_vs_one_thread)),
                    interval(Some(&size.speedup_vs_one_thread)),
                    percent(Some(size.efficiency_vs_one_thread_percent)),
                    speedup(size.limit_speedup.as_ref()),
                    percent(size.percent_of_limit),
                    speedup(size.speedup_vs_sequential.as_ref()),
                    percent(size.efficiency_vs_sequential_percent),
                    speedup(size.speedup_vs_unpinned.as_ref()),
                    cpu(&size.measurement, self.cpu_times_available),
                ],
                note: note.trim_start().to_owned(),
            });
        }
        rows
    }

    /// `2 threads` or `2 threads (10 us jobs)`, for footnotes.
    fn who(&self, series: &Series, size: &SizeResult) -> String {
        if self.series.len() > 1 {
            format!("{} ({})", threads_phrase(size.threads), series.label)
        } else {
            threads_phrase(size.threads)
        }
    }

    fn write_table(
        &self,
        f: &mut fmt::Formatter<'_>,
        series: &Series,
        notes: &mut Notes,
    ) -> fmt::Result {
        let rows = self.rows(series, notes);
        let shown: Vec<usize> = (0..COLUMNS.len())
            .filter(|&column| match COLUMNS[column].0 {
                "rate" => series.items_per_run.is_some(),
                "vs plain threads" => self.calibration.is_some(),
                "vs sequential" => series.sequential.is_some(),
                "vs unpinned" => series.pinned,
                _ => true,
            })
            .collect();
        let mut widths = COLUMNS.map(|(_, header)| header.len());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(&row.cells) {
                *width = (*width).max(cell.len());
            }
        }
        let unit = format!("{}/s", self.item_unit);
        widths[4] = widths[4].max(unit.len());
        // Group headings over their columns.
        let mut line = String::new();
        let mut column = 0;
        while column < shown.len() {
            let group = COLUMNS[shown[column]].0;
            let mut end = column;
            while end + 1 < shown.len() && COLUMNS[shown[end + 1]].0 == group && !group.is_empty() {
                end += 1;
            }
            let span: usize = shown[column..=end]
                .iter()
                .map(|&c| widths[c])
                .sum::<usize>()
                + 2 * (end - column);
            let heading = match group {
                "time" => "time (median, p10, p90)".to_owned(),
                "rate" => unit.clone(),
                "vs 1 thread" => format!("vs 1 thread ({CONFIDENCE_PERCENT:.0}%)"),
                other => other.to_owned(),
            };
            write!(line, "{heading:^span$}  ")?;
            column = end + 1;
        }
        writeln!(f, "{}", line.trim_end())?;
        let mut line = String::new();
        for &column in &shown {
            write!(line, "{:>w$}  ", COLUMNS[column].1, w = widths[column])?;
        }
        writeln!(f, "{}", line.trim_end())?;
        for row in &rows {
            let mut line = String::new();
            for &column in &shown {
                write!(line, "{:>w$}  ", row.cells[column], w = widths[column])?;
            }
            line.push_str(&row.note);
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }

    fn write_header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = &self.machine;
        writeln!(f, "weft-tune: {} - {}", self.workload, self.description)?;
        write!(
            f,
            "machine:  {} logical cores, {} physical",
            machine.logical_cores, machine.physical_cores
        )?;
        if let Some(model) = &machine.cpu_model {
            write!(f, ", {model}")?;
        }
        writeln!(f, " ({} {})", machine.os, machine.arch)?;
        writeln!(
            f,
            "runs:     {} warm-up + {} timed round{}; each round ran every configuration once, \
             in a shuffled order ({} in all); CPU is per run{}",
            self.warmup_runs,
            self.runs,
            if self.runs == 1 { "" } else { "s" },
            format_secs(self.sweep_wall_secs),
            if self.cpu_times_available {
                ""
            } else {
                " (not available here)"
            },
        )?;
        if let Some(calibration) = &self.calibration {
            let points: Vec<String> = calibration
                .points
                .iter()
                .filter(|point| point.threads > 1)
                .map(|point| {
                    format!(
                        "{} on {}",
                        format_estimate(&point.speedup),
                        threads_phrase(point.threads)
                    )
                })
                .collect();
            if !points.is_empty() {
                writeln!(
                    f,
                    "limit:    plain threads on a fixed loop, in the same rounds, reached {}",
                    points.join(", ")
                )?;
            }
        }
        Ok(())
    }

    fn write_contention(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let contention = &self.contention;
        let mut seen = Vec::new();
        if let Some(speedup) = contention.calibration_speedup_at_logical_cores {
            seen.push(format!(
                "plain threads reached {speedup:.2}x of {}x",
                self.machine.logical_cores
            ));
        }
        if !contention.widest_spread_of.is_empty() {
            seen.push(format!(
                "widest p10-p90 spread {:.0}% ({})",
                contention.widest_spread_percent, contention.widest_spread_of
            ));
        }
        if let Some(load) = contention.load_average_at_start {
            seen.push(format!("load average {load:.2} at the start"));
        }
        if let Some(busy) = contention.other_processes_busy_cores {
            seen.push(format!("other processes used {busy:.2} cores"));
        }
        if let Some(steal) = contention.steal_percent {
            seen.push(format!("steal time {steal:.1}%"));
        }
        if contention.warnings.is_empty() {
            writeln!(f, "contention: none seen ({})", seen.join("; "))
        } else {
            writeln!(
                f,
                "contention: the machine was shared during this sweep ({}):",
                seen.join("; ")
            )?;
            for warning in &contention.warnings {
                writeln!(f, "  ! {}", warning.message)?;
            }
            Ok(())
        }
    }
}

impl fmt::Display for Report {
    /// The table `weft-tune` prints: machine, settings, the calibration, one table per
    /// series (a row per pool size and one for sequential code) with its recommendation,
    /// the break-even job size, the contention seen, and notes on odd numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_header(f)?;
        let mut notes = Notes::default();
        for series in &self.series {
            writeln!(f)?;
            if self.series.len() > 1 {
                // The series' own description, when it says more than the heading's.
                if series.description == self.description {
                    writeln!(f, "{}:", series.label)?;
                } else {
                    writeln!(f, "{}: {}", series.label, series.description)?;
                }
            }
            self.write_table(f, series, &mut notes)?;
            writeln!(f)?;
            let pick = &series.recommendation;
            writeln!(
                f,
                "recommendation{}: {}, speed-up {}: {}.",
                if self.series.len() > 1 {
                    format!(" ({})", series.label)
                } else {
                    String::new()
                },
                threads_phrase(pick.threads),
                format_estimate(&pick.speedup),
                pick.reason,
            )?;
        }
        writeln!(f)?;
        if let Some(break_even) = &self.break_even {
            let job = break_even
                .job_us
                .map_or_else(|| "none found".to_owned(), |us| format!("{us} us"));
            writeln!(
                f,
                "break-even job size: {job}. {}.",
                capitalise(&break_even.reason)
            )?;
        }
        self.write_contention(f)?;
        if !self.contention.warnings.is_empty() {
            writeln!(
                f,
                "caution: with the machine shared, another run may recommend another size; \
                 the intervals above are what this run can tell apart."
            )?;
        }
        if !notes.0.is_empty() {
            writeln!(f, "notes:")?;
            for (index, note) in notes.0.iter().enumerate() {
                writeln!(f, "  [{}] {note}", index + 1)?;
            }
        }
        Ok(())
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
