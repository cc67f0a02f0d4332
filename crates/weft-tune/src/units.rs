//! Numbers for people: times, rates, byte counts, long durations and big counts, each with
//! a unit that keeps three or four significant digits.

/// Formats seconds with a unit that keeps three or four significant digits: `1.23 s`,
/// `45.6 ms`, `789 us`, `12.0 ns`.
///
/// ```
/// assert_eq!(weft_tune::format_secs(1.234), "1.23 s");
/// assert_eq!(weft_tune::format_secs(0.0456), "45.6 ms");
/// assert_eq!(weft_tune::format_secs(0.000_000_012), "12.0 ns");
/// ```
pub fn format_secs(secs: f64) -> String {
    if secs == 0.0 {
        return "0 s".to_owned();
    }
    let (value, unit) = if secs >= 1.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "us")
    } else {
        (secs * 1e9, "ns")
    };
    if value >= 100.0 {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

/// Formats a rate with an SI prefix: `1.23 G`, `456 M`, `12.3 k`, `7.50`.
pub fn format_rate(per_sec: f64) -> String {
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

/// `3.20 TB`, `512 MB`, `12.0 kB`: decimal units, as `free -H` and disk makers use.
pub fn format_bytes(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value >= 100.0 {
        format!("{value:.0} {}", units[unit])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// `45 s`, `12 minutes`, `3.4 hours`, `2.1 days`, `40 years`, `5.0e3 years`.
pub fn format_duration_words(secs: f64) -> String {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 3600.0;
    const DAY: f64 = 86_400.0;
    const YEAR: f64 = 365.25 * DAY;
    // Each unit from twice the next smaller one: never "1 minutes".
    if secs < 2.0 * MINUTE {
        format!("{secs:.0} s")
    } else if secs < 2.0 * HOUR {
        format!("{:.0} minutes", secs / MINUTE)
    } else if secs < 2.0 * DAY {
        format!("{:.1} hours", secs / HOUR)
    } else if secs < 2.0 * YEAR {
        format!("{:.1} days", secs / DAY)
    } else if secs < 1000.0 * YEAR {
        format!("{:.0} years", secs / YEAR)
    } else {
        format!("{:.1e} years", secs / YEAR)
    }
}

/// `1000000` as `1,000,000`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_picks_a_fitting_unit() {
        let cases: [(String, &str); 22] = [
            (format_secs(12.345), "12.3 s"),
            (format_secs(0.2625), "262 ms"),
            (format_secs(0.000_123_4), "123 us"),
            (format_secs(0.000_000_095), "95.0 ns"),
            (format_secs(0.0), "0 s"),
            (format_rate(3.2e9), "3.20 G"),
            (format_rate(456e6), "456 M"),
            (format_rate(12_345.0), "12.3 k"),
            (format_rate(7.5), "7.50 "),
            (format_bytes(512), "512 B"),
            (format_bytes(800_000_000_000), "800 GB"),
            (format_bytes(3_200_000_000_000), "3.2 TB"),
            (format_duration_words(30.0), "30 s"),
            (format_duration_words(100.0), "100 s"),
            (format_duration_words(600.0), "10 minutes"),
            (format_duration_words(4.0 * 3600.0), "4.0 hours"),
            (format_duration_words(3.0 * 86_400.0), "3.0 days"),
            (format_duration_words(1e15), "3.2e7 years"),
            (group_digits(0), "0"),
            (group_digits(999), "999"),
            (group_digits(1000), "1,000"),
            (group_digits(1_000_000_000), "1,000,000,000"),
        ];
        for (formatted, expected) in cases {
            assert_eq!(formatted, expected);
        }
    }
}
