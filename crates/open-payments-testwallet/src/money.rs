//! Amounts, assets and grant intervals: the arithmetic of the test wallet, pure.

use serde_json::{Value, json};
use time::{Date, Month, OffsetDateTime};

/// An asset: ISO 4217 code and scale (the number of decimal places of one unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// `USD`.
    pub code: String,
    /// 2 for cents, 6 for micro-dollars.
    pub scale: u8,
}

impl Asset {
    /// The `amount` object of the specs for `value` in this asset.
    pub fn amount(&self, value: u64) -> Value {
        json!({"value": value.to_string(), "assetCode": self.code, "assetScale": self.scale})
    }
}

/// Reads an `amount` object (already schema-checked): value and asset.
pub fn parse_amount(v: &Value) -> Option<(u64, Asset)> {
    let value = v.get("value")?.as_str()?.parse().ok()?;
    let code = v.get("assetCode")?.as_str()?.to_string();
    let scale = u8::try_from(v.get("assetScale")?.as_u64()?).ok()?;
    Some((value, Asset { code, scale }))
}

/// Converts `value` from one asset to another of the same code, rounding down when the scale
/// shrinks (or up, with `round_up`). `None` across codes or on overflow: the test wallet has no
/// exchange rates.
pub fn convert(value: u64, from: &Asset, to: &Asset, round_up: bool) -> Option<u64> {
    if from.code != to.code {
        return None;
    }
    if to.scale >= from.scale {
        let factor = 10u64.checked_pow(u32::from(to.scale - from.scale))?;
        value.checked_mul(factor)
    } else {
        let factor = 10u64.checked_pow(u32::from(from.scale - to.scale))?;
        let q = value / factor;
        Some(if round_up && value % factor != 0 {
            q + 1
        } else {
            q
        })
    }
}

/// An ISO 8601 duration as grants use it (`P1M`, `PT1H`, `P1DT12H`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    months: u32,
    days: u32,
    seconds: u64,
}

impl IsoDuration {
    /// Parses `P[nY][nM][nW][nD][T[nH][nM][nS]]` (integers only).
    pub fn parse(s: &str) -> Option<IsoDuration> {
        let rest = s.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut d = IsoDuration::default();
        let mut any = false;
        for (n, unit) in units(date)? {
            any = true;
            match unit {
                'Y' => d.months = d.months.checked_add(n.checked_mul(12)?)?,
                'M' => d.months = d.months.checked_add(n)?,
                'W' => d.days = d.days.checked_add(n.checked_mul(7)?)?,
                'D' => d.days = d.days.checked_add(n)?,
                _ => return None,
            }
        }
        if let Some(time) = time {
            for (n, unit) in units(time)? {
                any = true;
                let secs = u64::from(n)
                    * match unit {
                        'H' => 3600,
                        'M' => 60,
                        'S' => 1,
                        _ => return None,
                    };
                d.seconds = d.seconds.checked_add(secs)?;
            }
        }
        (any && (d.months, d.days, d.seconds) != (0, 0, 0)).then_some(d)
    }

    /// `at` plus this duration (months first, clamping the day to the month's length).
    pub fn add_to(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let total = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1
            + i64::from(self.months);
        let year = i32::try_from(total.div_euclid(12)).ok()?;
        let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
        let day = at.day().min(time::util::days_in_month(month, year));
        let date = Date::from_calendar_date(year, month, day).ok()?;
        let moved = at.replace_date(date);
        moved
            .checked_add(time::Duration::days(i64::from(self.days)))?
            .checked_add(time::Duration::seconds(i64::try_from(self.seconds).ok()?))
    }
}

fn units(s: &str) -> Option<Vec<(u32, char)>> {
    let mut out = Vec::new();
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            out.push((num.parse().ok()?, c));
            num.clear();
        }
    }
    num.is_empty().then_some(out)
}

/// A grant's repeating interval `R[n]/<start>/<duration>`: limits apply per interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    repetitions: Option<u32>,
    start: OffsetDateTime,
    duration: IsoDuration,
}

impl Interval {
    /// Parses `Rn/start/duration` or `R/start/duration` (the forms a wallet's grant limits
    /// use). Other ISO 8601 forms (`start/end`, `duration/end`) are refused.
    pub fn parse(s: &str) -> Option<Interval> {
        let mut parts = s.split('/');
        let r = parts.next()?.strip_prefix('R')?;
        let repetitions = if r.is_empty() {
            None
        } else {
            Some(r.parse().ok()?)
        };
        let start = OffsetDateTime::parse(
            parts.next()?,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()?;
        let duration = IsoDuration::parse(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Interval {
            repetitions,
            start,
            duration,
        })
    }

    /// The index of the interval `now` falls in: `None` before the start or after the last
    /// repetition (`Rn` means n + 1 intervals in ISO 8601's counting; we allow that many).
    pub fn index_at(&self, now: OffsetDateTime) -> Option<u64> {
        if now < self.start {
            return None;
        }
        let mut begin = self.start;
        let mut index = 0u64;
        // A bound on the walk: a grant of minutely intervals over decades still fits.
        while index < 10_000_000 {
            let end = self.duration.add_to(begin)?;
            if now < end {
                return match self.repetitions {
                    Some(n) if index > u64::from(n) => None,
                    _ => Some(index),
                };
            }
            begin = end;
            index += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    #[test]
    fn scales_convert_exactly_up_and_floor_down() {
        let c2 = Asset {
            code: "USD".into(),
            scale: 2,
        };
        let c6 = Asset {
            code: "USD".into(),
            scale: 6,
        };
        assert_eq!(convert(150, &c2, &c6, false), Some(1_500_000));
        assert_eq!(convert(1_500_001, &c6, &c2, false), Some(150));
        assert_eq!(convert(1_500_001, &c6, &c2, true), Some(151));
        let eur = Asset {
            code: "EUR".into(),
            scale: 2,
        };
        assert_eq!(convert(1, &c2, &eur, false), None);
    }

    #[test]
    fn monthly_interval_indexes_by_calendar_month() {
        let i = Interval::parse("R12/2024-01-31T00:00:00Z/P1M").unwrap();
        assert_eq!(i.index_at(datetime!(2024-01-31 00:00 UTC)), Some(0));
        assert_eq!(i.index_at(datetime!(2024-02-29 12:00 UTC)), Some(1));
        assert_eq!(i.index_at(datetime!(2024-03-30 12:00 UTC)), Some(2));
        assert_eq!(i.index_at(datetime!(2023-12-01 00:00 UTC)), None);
        assert!(Interval::parse("R/2017-03-01T13:00:00Z/2018-05-11T15:30:00Z").is_none());
        assert!(Interval::parse("R/2017-03-01T13:00:00Z/PT1H30M").is_some());
    }
}
