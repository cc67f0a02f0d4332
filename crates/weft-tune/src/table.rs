//! The terminal table: `impl Display for Report`.

use std::fmt::{self, Write as _};

use crate::report::{Measurement, Report};
use crate::stats::format_secs;

/// Formats a rate with an SI prefix: `1.23 G`, `456 M`, `12.3 k`, `7.50`.
fn format_rate(per_sec: f64) -> String {
    let (value, prefix) = if per_sec >= 1e9 {
        (per_sec / 1e9, " G")
    } else if per_sec >= 1e6 {
        (per_sec / 1e6, " M")
    } else if per_sec >= 1e3 {
        (per_sec / 1e3, " k")
    } else {
        (per_sec, " ")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{prefix}")
}

fn format_speedup(speedup: Option<f64>) -> String {
    speedup.map_or_else(|| "-".to_owned(), |s| format!("{s:.2}x"))
}

fn format_efficiency(efficiency: Option<f64>) -> String {
    efficiency.map_or_else(|| "-".to_owned(), |e| format!("{:.0}%", e * 100.0))
}

/// One row's cells, in column order.
struct Row {
    cells: [String; 12],
    note: &'static str,
}

const HEADERS: [&str; 12] = [
    "threads",
    "median",
    "p10",
    "p90",
    "throughput",
    "per item",
    "speed-up",
    "effic.",
    "speed-up",
    "effic.",
    "user",
    "sys",
];

impl Report {
    fn row(
        &self,
        label: String,
        measurement: &Measurement,
        vs_one: (Option<f64>, Option<f64>),
        vs_sequential: (Option<f64>, Option<f64>),
        note: &'static str,
    ) -> Row {
        let timing = &measurement.timing;
        let items = self.items_per_run.unwrap_or(1) as f64;
        let per_item = match self.items_per_run {
            Some(_) => format_secs(timing.median_secs / items),
            None => "-".to_owned(),
        };
        Row {
            cells: [
                label,
                format_secs(timing.median_secs),
                format_secs(timing.p10_secs),
                format_secs(timing.p90_secs),
                format_rate(items / timing.median_secs),
                per_item,
                format_speedup(vs_one.0),
                format_efficiency(vs_one.1),
                format_speedup(vs_sequential.0),
                format_efficiency(vs_sequential.1),
                format_secs(measurement.cpu_user_secs),
                format_secs(measurement.cpu_system_secs),
            ],
            note,
        }
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        if let Some(sequential) = &self.sequential {
            let vs_one = sequential_speedup(&self.one_thread, sequential);
            rows.push(self.row(
                "sequential".to_owned(),
                sequential,
                // Efficiency is per thread of a pool; the sequential code has none.
                (Some(vs_one), None),
                (Some(1.0), None),
                "",
            ));
        }
        for size in &self.sizes {
            let note = if size.threads == self.recommendation.threads {
                "<- recommended"
            } else if size.threads == self.recommendation.best_threads {
                "<- best median"
            } else {
                ""
            };
            rows.push(self.row(
                size.threads.to_string(),
                &size.measurement,
                (
                    Some(size.speedup_vs_one_thread),
                    Some(size.efficiency_vs_one_thread),
                ),
                (size.speedup_vs_sequential, size.efficiency_vs_sequential),
                note,
            ));
        }
        rows
    }
}

/// How much faster the sequential code is than a one-thread pool (a pool's overhead).
fn sequential_speedup(one_thread: &Measurement, sequential: &Measurement) -> f64 {
    one_thread.timing.median_secs / sequential.timing.median_secs
}

impl fmt::Display for Report {
    /// The table `weft-tune` prints: machine, settings, one row per pool size (and one for
    /// sequential code), and the recommendation with its reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = &self.machine;
        writeln!(f, "weft-tune: {} - {}", self.workload, self.description)?;
        write!(
            f,
            "machine:   {} logical cores, {} physical",
            machine.logical_cores, machine.physical_cores
        )?;
        if let Some(model) = &machine.cpu_model {
            write!(f, ", {model}")?;
        }
        writeln!(f, " ({} {})", machine.os, machine.arch)?;
        writeln!(
            f,
            "runs:      {} warm-up + {} timed per pool size; times are wall clock, CPU is the \
             whole process's per run{}",
            self.warmup_runs,
            self.runs,
            if self.cpu_times_available {
                ""
            } else {
                " (not available here: shown as 0)"
            },
        )?;
        writeln!(f)?;

        let rows = self.rows();
        // Without a sequential baseline its two columns would only hold dashes: leave them out.
        let shown: Vec<usize> = (0..HEADERS.len())
            .filter(|&column| self.sequential.is_some() || !(8..=9).contains(&column))
            .collect();
        let mut widths = HEADERS.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(&row.cells) {
                *width = (*width).max(cell.len());
            }
        }
        let unit = format!("{}/s", self.item_unit);
        widths[4] = widths[4].max(unit.len());
        // Group headings over their columns.
        let span = |from: usize, to: usize| -> usize {
            widths[from..=to].iter().sum::<usize>() + 2 * (to - from)
        };
        let mut line = String::new();
        write!(line, "{:w$}  ", "", w = widths[0])?;
        write!(line, "{:^w$}  ", "time (median, p10, p90)", w = span(1, 3))?;
        write!(line, "{:>w$}  ", unit, w = widths[4])?;
        write!(line, "{:>w$}  ", "", w = widths[5])?;
        write!(line, "{:^w$}  ", "vs 1 thread", w = span(6, 7))?;
        if self.sequential.is_some() {
            write!(line, "{:^w$}  ", "vs sequential", w = span(8, 9))?;
        }
        write!(line, "{:^w$}", "CPU per run", w = span(10, 11))?;
        writeln!(f, "{}", line.trim_end())?;
        let mut line = String::new();
        for &column in &shown {
            write!(line, "{:>w$}  ", HEADERS[column], w = widths[column])?;
        }
        writeln!(f, "{}", line.trim_end())?;
        for row in &rows {
            let mut line = String::new();
            for &column in &shown {
                write!(line, "{:>w$}  ", row.cells[column], w = widths[column])?;
            }
            line.push_str(row.note);
            writeln!(f, "{}", line.trim_end())?;
        }
        writeln!(f)?;
        let pick = &self.recommendation;
        writeln!(
            f,
            "recommendation: {} thread{}. {}.",
            pick.threads,
            if pick.threads == 1 { "" } else { "s" },
            capitalise(&pick.reason),
        )
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_get_si_prefixes() {
        assert_eq!(format_rate(3.2e9), "3.20 G");
        assert_eq!(format_rate(456e6), "456 M");
        assert_eq!(format_rate(12_345.0), "12.3 k");
        assert_eq!(format_rate(7.5), "7.50 ");
    }
}
