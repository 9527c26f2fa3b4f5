//! What a run reports, and the table of medians at the end.

/// What one run of a case measured.
pub struct Rep {
    /// The `key=value` pairs of the machine-readable line.
    pub fields: Vec<(&'static str, String)>,
    /// The same for people.
    pub human: String,
}

impl Rep {
    pub fn new(human: String) -> Rep {
        Rep {
            fields: Vec::new(),
            human,
        }
    }

    /// Adds a figure to the machine-readable line; `decimals` as printed.
    pub fn figure(&mut self, key: &'static str, value: f64, decimals: usize) {
        self.fields.push((key, format!("{value:.decimals$}")));
    }

    /// Adds a figure the bench could not take (e.g. the memory of a server it did not start).
    pub fn missing(&mut self, key: &'static str) {
        self.fields.push((key, "n/a".into()));
    }

    /// Adds a figure if it was taken, or says it is missing.
    pub fn figure_or_missing(&mut self, key: &'static str, value: Option<f64>, decimals: usize) {
        match value {
            Some(value) => self.figure(key, value, decimals),
            None => self.missing(key),
        }
    }

    /// The value of figure `key`, if it was taken.
    pub fn value(&self, key: &str) -> Option<f64> {
        let (_, value) = self.fields.iter().find(|(k, _)| *k == key)?;
        value.parse().ok()
    }
}

/// One line of the final table: a figure of a case, its median over the runs, and its target.
pub struct Row {
    /// The key of the figure in `Rep::fields`.
    pub key: &'static str,
    /// What it is, for people.
    pub what: &'static str,
    /// How to print a value of it.
    pub show: fn(f64) -> String,
    pub goal: Goal,
}

/// The target a figure should meet, at the sizes it is set for (docs/PERFORMANCE.md).
#[derive(Clone, Copy)]
pub enum Goal {
    None,
    AtLeast(f64),
    AtMost(f64),
    Below(f64),
}

impl Goal {
    fn text(self, show: fn(f64) -> String) -> String {
        match self {
            Goal::None => "-".into(),
            Goal::AtLeast(v) => format!(">= {}", show(v)),
            Goal::AtMost(v) => format!("<= {}", show(v)),
            Goal::Below(v) => format!("< {}", show(v)),
        }
    }

    fn met(self, value: f64) -> &'static str {
        let met = match self {
            Goal::None => return "",
            Goal::AtLeast(v) => value >= v,
            Goal::AtMost(v) => value <= v,
            Goal::Below(v) => value < v,
        };
        if met { "yes" } else { "NO" }
    }
}

/// The median of some values: the middle one, or the mean of the two middle ones.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// The value at percentile `p` (0-100) of sorted values, by the nearest-rank method.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Prints the table of medians: `cases` holds each case's title, rows and successful runs.
pub fn print_table(cases: &[(String, Vec<Row>, Vec<Rep>)]) {
    let mut lines = vec![[
        "case".to_string(),
        "figure".into(),
        "median".into(),
        "runs".into(),
        "target".into(),
        "met".into(),
    ]];
    for (title, rows, reps) in cases {
        for row in rows {
            let values: Vec<f64> = reps.iter().filter_map(|r| r.value(row.key)).collect();
            let (median, met) = match median(&values) {
                Some(m) => ((row.show)(m), row.goal.met(m)),
                None => ("n/a".into(), ""),
            };
            lines.push([
                title.clone(),
                row.what.into(),
                median,
                values.len().to_string(),
                row.goal.text(row.show),
                met.into(),
            ]);
        }
    }
    let mut widths = [0; 6];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

// Ways to print a figure.

pub fn millions(v: f64) -> String {
    format!("{:.2} M", v / 1e6)
}

pub fn micros(v: f64) -> String {
    format!("{v:.0} us")
}

pub fn millis(v: f64) -> String {
    format!("{v:.2} ms")
}

pub fn seconds(v: f64) -> String {
    format!("{v:.2} s")
}

pub fn kib(v: f64) -> String {
    format!("{v:.1} KiB")
}

pub fn count(v: f64) -> String {
    format!("{v:.0}")
}

pub fn mb_per_s(v: f64) -> String {
    format!("{v:.0} MB/s")
}

pub fn percent(v: f64) -> String {
    format!("{v:.0} %")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
    }
}
