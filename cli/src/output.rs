//! Human output: aligned tables, money, and times in the local zone.
//!
//! Times are shown with chrono's `Local`, which reads `TZ` and the system zone itself and
//! follows the zone's rules for each date (summer time included); the wire's `time` values are
//! converted through their Unix timestamp.

use chrono::{DateTime, Local, TimeZone as _};
use time::OffsetDateTime;

/// `time` → chrono in the local zone.
pub fn local(at: OffsetDateTime) -> DateTime<Local> {
    let nanos = at.unix_timestamp_nanos();
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    Local
        .timestamp_opt(secs, sub)
        .single()
        .unwrap_or_else(|| DateTime::<chrono::Utc>::UNIX_EPOCH.with_timezone(&Local))
}

/// `2026-05-02 20:00 +02:00` in the local zone.
pub fn when(at: OffsetDateTime) -> String {
    local(at).format("%Y-%m-%d %H:%M %:z").to_string()
}

/// `2026-05-02 20:00–21:00 +02:00`, or both ends in full when they fall on different days.
pub fn window(start: OffsetDateTime, end: OffsetDateTime) -> String {
    let (s, e) = (local(start), local(end));
    if s.date_naive() == e.date_naive() {
        format!(
            "{}–{} {}",
            s.format("%Y-%m-%d %H:%M"),
            e.format("%H:%M"),
            s.format("%:z")
        )
    } else {
        format!("{} – {}", when(start), when(end))
    }
}

/// A length of media: `4:05` under an hour, `1:02:03` from an hour on.
pub fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A size in bytes for people, in powers of 1,000: `812 B`, `4.2 MB`, `1.35 GB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value < 10.0 { 2 } else { 1 };
    format!("{value:.digits$} {}", UNITS[unit])
}

/// A table printed with each column as wide as its widest cell.
#[derive(Debug)]
pub struct Table {
    /// Column titles.
    header: Vec<String>,
    /// Cells, one `Vec` per row.
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, columns separated by two spaces, no trailing blanks.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table, or a line saying it is empty.
    pub fn print(&self, empty: &str) {
        if self.rows.is_empty() {
            println!("{empty}");
        } else {
            print!("{}", self.render());
        }
    }
}

/// Label/value lines with the values aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(label, value)| format!("{label:<width$}  {value}\n"))
        .collect()
}

/// Shortens `text` to `max` characters with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_trims_line_ends() {
        let mut table = Table::new(&["ID", "TITLE", "PRICE"]);
        table.row(vec!["1".into(), "Late Night Laughs".into(), "$7.50".into()]);
        table.row(vec!["22".into(), "Yoga".into(), "$0.00".into()]);
        assert_eq!(
            table.render(),
            "ID  TITLE              PRICE\n\
             1   Late Night Laughs  $7.50\n\
             22  Yoga               $0.00\n"
        );
    }

    #[test]
    fn media_lengths_read_as_a_clock() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(65_999), "1:05");
        assert_eq!(clock(3_723_000), "1:02:03");
    }

    #[test]
    fn sizes_use_decimal_units() {
        assert_eq!(size(812), "812 B");
        assert_eq!(size(4_200_000), "4.20 MB");
        assert_eq!(size(35_100_000), "35.1 MB");
        assert_eq!(size(1_350_000_000), "1.35 GB");
        assert_eq!(size(999_999), "1.00 MB");
    }

    #[test]
    fn clip_adds_an_ellipsis() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
