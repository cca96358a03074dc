//! Reads result lines from several rounds and prints a Markdown table of
//! medians with each proxy's ratio to the direct connection and to nginx.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::stats::median;

/// Prefix of a result line written by `run`.
pub const PREFIX: &str = "RESULT";
/// The reference columns: every other column gets its ratio to these.
const DIRECT: &str = "direct";
const NGINX: &str = "nginx";
/// imapgate without filters: columns with filters also get their ratio to it.
const PLAIN: &str = "gate-plain";

/// Formats one result line: prefix, target label, scenario, metric, value.
pub fn line(label: &str, scenario: &str, metric: &str, value: f64) -> String {
    format!("{PREFIX}\t{label}\t{scenario}\t{metric}\t{value}")
}

/// Builds the table from the text of result files; lines without the
/// prefix are ignored.
pub fn table(text: &str) -> Result<String, String> {
    let mut labels: Vec<String> = Vec::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut values: HashMap<(String, String, String), Vec<f64>> = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix(PREFIX) else { continue };
        let fields: Vec<&str> = rest.trim_start_matches('\t').split('\t').collect();
        let [label, scenario, metric, value] = fields[..] else {
            return Err(format!("line {}: expected 4 tab-separated fields after {PREFIX}: {line:?}", number + 1));
        };
        let value: f64 = value.parse().map_err(|_| format!("line {}: invalid number {value:?}", number + 1))?;
        if !labels.iter().any(|known| known == label) {
            labels.push(label.to_string());
        }
        let row = (scenario.to_string(), metric.to_string());
        if !rows.contains(&row) {
            rows.push(row);
        }
        values.entry((label.to_string(), scenario.to_string(), metric.to_string())).or_default().push(value);
    }
    labels.sort_by_key(|label| match label.as_str() {
        DIRECT => 0,
        NGINX => 1,
        PLAIN => 2,
        _ => 3,
    });

    let mut out = String::from("| scenario | metric |");
    for label in &labels {
        write!(out, " {label} |").expect("writing to a String cannot fail");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---:|".repeat(labels.len()));
    out.push('\n');
    for (scenario, metric) in &rows {
        let mut medians: HashMap<&str, f64> = HashMap::new();
        for label in &labels {
            if let Some(found) = values.get_mut(&(label.clone(), scenario.clone(), metric.clone())) {
                medians.insert(label, median(found));
            }
        }
        write!(out, "| {scenario} | {metric} |").expect("writing to a String cannot fail");
        for label in &labels {
            let Some(&value) = medians.get(label.as_str()) else {
                out.push_str(" – |");
                continue;
            };
            let mut cell = number(value);
            if label != DIRECT && label != NGINX {
                let references: &[&str] = if label == PLAIN { &[DIRECT, NGINX] } else { &[DIRECT, NGINX, PLAIN] };
                for &reference in references {
                    if let Some(&base) = medians.get(reference)
                        && base != 0.0
                    {
                        write!(cell, " ({:.2}× {})", value / base, abbreviation(reference))
                            .expect("writing to a String cannot fail");
                    }
                }
            }
            write!(out, " {cell} |").expect("writing to a String cannot fail");
        }
        out.push('\n');
    }
    Ok(out)
}

/// Short column names for the ratio notes: d (direct), n (nginx), p (plain).
fn abbreviation(reference: &str) -> &'static str {
    match reference {
        DIRECT => "d",
        NGINX => "n",
        _ => "p",
    }
}

/// At least three significant digits.
fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_medians_and_ratios() {
        let text = [
            line("direct", "bulk", "MB/s", 100.0),
            line("nginx", "bulk", "MB/s", 60.0),
            line("gate-plain", "bulk", "MB/s", 90.0),
            line("direct", "bulk", "MB/s", 120.0),
            line("nginx", "bulk", "MB/s", 80.0),
            line("gate-plain", "bulk", "MB/s", 94.0),
            "noise".to_string(),
        ]
        .join("\n");
        let table = table(&text).unwrap();
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows[0], "| scenario | metric | direct | nginx | gate-plain |");
        assert_eq!(rows[2], "| bulk | MB/s | 110 | 70.0 | 92.0 (0.84× d) (1.31× n) |");
    }

    #[test]
    fn table_rules_column_compared_to_plain() {
        let text = [
            line("gate-rules", "big-list", "ms/LIST", 60.0),
            line("gate-plain", "big-list", "ms/LIST", 50.0),
            line("direct", "big-list", "ms/LIST", 40.0),
        ]
        .join("\n");
        let table = table(&text).unwrap();
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows[0], "| scenario | metric | direct | gate-plain | gate-rules |");
        assert_eq!(rows[2], "| big-list | ms/LIST | 40.0 | 50.0 (1.25× d) | 60.0 (1.50× d) (1.20× p) |");
    }

    #[test]
    fn table_missing_value_is_dash() {
        let text =
            [line("nginx", "idle", "KiB/session", 9.0), line("gate-plain", "idle", "KiB/session", 6.0)].join("\n");
        let table = table(&text).unwrap();
        assert!(table.contains("| idle | KiB/session | 9.00 | 6.00 (0.67× n) |"), "{table}");
    }

    #[test]
    fn table_rejects_bad_number() {
        assert!(table("RESULT\tdirect\tbulk\tMB/s\tfast").is_err());
    }
}
