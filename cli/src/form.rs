//! The gig registration form's fields, and the catalogue's search text, checked here with the
//! server's own rules (the limits in `bookmygig_api::limits`), so a flag and an interactive
//! answer (or the TUI's search line) are refused the same way and nothing reaches the server
//! that it would refuse for its shape.
//!
//! Each check takes what a person typed and answers the value or a reason in plain words; the
//! caller adds the flag's name.

use bookmygig_api::limits::{
    CAPACITY_MAX, CREATOR_NAME_MAX, DESCRIPTION_MAX, GIG_HOURS_MAX, MICROPAYMENT_RATE_MAX,
    PRICE_MAX, REPLAY_HOURS_MAX, SEARCH_MAX, TITLE_MAX,
};
use bookmygig_api::{Category, Money, PaymentPointer};
use chrono::{FixedOffset, Local, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use time::OffsetDateTime;

/// How far in the past a start may be (the server's allowance for clock skew).
const START_GRACE_SECS: i64 = 60;
/// How far ahead a gig may be scheduled (the server's horizon: two years of 366 days).
const SCHEDULE_HORIZON_DAYS: i64 = 2 * 366;

/// A trimmed text of `min..=max` characters without control characters (newlines and tabs
/// allowed when `multiline`).
fn text(value: &str, min: usize, max: usize, multiline: bool) -> Result<String, String> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min {
        return Err("must not be empty".to_owned());
    }
    if length > max {
        return Err(format!("at most {max} characters (got {length})"));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err("control characters are not allowed".to_owned());
    }
    Ok(trimmed.to_owned())
}

/// The performer's name as billed: 1–80 characters.
pub fn creator_name(value: &str) -> Result<String, String> {
    text(value, 1, CREATOR_NAME_MAX, false)
}

/// The title: 1–120 characters.
pub fn title(value: &str) -> Result<String, String> {
    text(value, 1, TITLE_MAX, false)
}

/// The description: up to 5,000 characters, may be empty.
pub fn description(value: &str) -> Result<String, String> {
    text(value, 0, DESCRIPTION_MAX, true)
}

/// One of the six categories.
pub fn category(value: &str) -> Result<Category, String> {
    value
        .trim()
        .to_ascii_lowercase()
        .parse()
        .map_err(|err: bookmygig_api::gig::UnknownCategory| err.to_string())
}

/// Dollars between $0 and `max`.
fn dollars(value: &str, max: Money) -> Result<Money, String> {
    let money: Money = value
        .parse()
        .map_err(|err| format!("`{}`: {err}", value.trim()))?;
    if money < Money::ZERO {
        return Err(format!(
            "must not be negative (got {money}); use 0 for free"
        ));
    }
    if money > max {
        return Err(format!("at most {max} (got {money})"));
    }
    Ok(money)
}

/// A ticket price in dollars, $0 to $10,000.
pub fn price(value: &str) -> Result<Money, String> {
    dollars(value, PRICE_MAX)
}

/// A micropayment rate in dollars per hour, $0 to $36.
pub fn micropayment_rate(value: &str) -> Result<Money, String> {
    dollars(value, MICROPAYMENT_RATE_MAX)
}

/// Seats: 1 to 1,000,000, or empty / `unlimited` for no limit.
pub fn capacity(value: &str) -> Result<Option<u32>, String> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    match value.parse::<u32>() {
        Ok(seats) if (1..=CAPACITY_MAX).contains(&seats) => Ok(Some(seats)),
        _ => Err(format!(
            "`{value}` is not a number of seats from 1 to {CAPACITY_MAX} (or `unlimited`)"
        )),
    }
}

/// A replay window: hours after the show's end during which ticket holders may watch its
/// recording, 0 (no replay) to 8,760 (a year).
pub fn replay_hours(value: &str) -> Result<u32, String> {
    let value = value.trim();
    match value.parse::<u32>() {
        Ok(hours) if hours <= REPLAY_HOURS_MAX => Ok(hours),
        _ => Err(format!(
            "`{value}` is not a number of hours from 0 (no replay) to {REPLAY_HOURS_MAX} (a year)"
        )),
    }
}

/// Most words in a search text (docs/api.md: the server refuses a `q` with more).
pub const SEARCH_WORDS_MAX: usize = 8;

/// How many words the server counts in a search text: runs of letters and digits. A combining
/// accent typed apart from its letter splits a word here but not on the server (which folds
/// accents away first): counting more is the safe side.
pub fn search_words(text: &str) -> usize {
    let mut words = 0;
    let mut in_word = false;
    for c in text.chars() {
        let letter = c.is_alphanumeric();
        if letter && !in_word {
            words += 1;
        }
        in_word = letter;
    }
    words
}

/// A search text the server accepts: at most [`SEARCH_MAX`] characters and
/// [`SEARCH_WORDS_MAX`] words.
pub fn search(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length > SEARCH_MAX {
        return Err(format!("at most {SEARCH_MAX} characters (got {length})"));
    }
    let words = search_words(value);
    if words > SEARCH_WORDS_MAX {
        return Err(format!(
            "at most {SEARCH_WORDS_MAX} words, words being runs of letters and digits (got {words})"
        ));
    }
    Ok(())
}

/// An Interledger payment pointer such as `$wallet.example/alice`.
pub fn payment_pointer(value: &str) -> Result<PaymentPointer, String> {
    PaymentPointer::parse(value).map_err(|err| format!("`{}`: {err}", value.trim()))
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        format!(
            "`{}` is not a date; expected YYYY-MM-DD, such as 2026-05-02",
            value.trim()
        )
    })
}

/// A time of day, `HH:MM` (24-hour clock).
pub fn clock(value: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(value.trim(), "%H:%M").map_err(|_| {
        format!(
            "`{}` is not a time of day; expected HH:MM on a 24-hour clock, such as 20:30",
            value.trim()
        )
    })
}

/// The zone `--date`, `--start` and `--end` are read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// This machine's zone (`TZ`, else the system's), with its rules for each date.
    Local,
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
}

/// `--tz`: `UTC`, `Z`, or an offset such as `+02:00`, `-0530`, `+01`.
pub fn zone(value: &str) -> Result<Zone, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("utc") || value == "Z" {
        return FixedOffset::east_opt(0)
            .map(Zone::Fixed)
            .ok_or_else(|| "UTC offset".to_owned());
    }
    let bad = || format!("`{value}` is not a UTC offset; expected UTC or one such as +02:00");
    let (sign, rest) = match value.as_bytes().first() {
        Some(b'+') => (1, &value[1..]),
        Some(b'-') => (-1, &value[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return Err(bad());
    }
    let hours: i32 = digits[..2].parse().map_err(|_| bad())?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().map_err(|_| bad())?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
        .map(Zone::Fixed)
        .ok_or_else(bad)
}

impl Zone {
    /// The instant `date time` names in this zone.
    ///
    /// # Errors
    /// When that wall-clock time does not exist here (skipped by a clock change).
    pub fn instant(self, date: NaiveDate, time: NaiveTime) -> Result<OffsetDateTime, String> {
        let naive = NaiveDateTime::new(date, time);
        let timestamp = match self {
            Zone::Local => pick(Local.from_local_datetime(&naive)).map(|dt| dt.timestamp()),
            Zone::Fixed(offset) => {
                pick(offset.from_local_datetime(&naive)).map(|dt| dt.timestamp())
            }
        }
        .ok_or_else(|| format!("{naive} does not exist in this time zone (a clock change)"))?;
        OffsetDateTime::from_unix_timestamp(timestamp).map_err(|err| err.to_string())
    }

    /// Today's date in this zone.
    pub fn today(self, now: OffsetDateTime) -> NaiveDate {
        let utc = chrono::DateTime::from_timestamp(now.unix_timestamp(), 0).unwrap_or_default();
        match self {
            Zone::Local => utc.with_timezone(&Local).date_naive(),
            Zone::Fixed(offset) => utc.with_timezone(&offset).date_naive(),
        }
    }
}

/// The earlier of two readings of an ambiguous time (the first pass of a repeated hour).
fn pick<T>(result: LocalResult<T>) -> Option<T> {
    match result {
        LocalResult::Single(value) | LocalResult::Ambiguous(value, _) => Some(value),
        LocalResult::None => None,
    }
}

/// A date that is not before today in `zone`.
pub fn future_date(value: &str, zone: Zone, now: OffsetDateTime) -> Result<NaiveDate, String> {
    let day = date(value)?;
    if day < zone.today(now) {
        return Err(format!("{day} is in the past"));
    }
    Ok(day)
}

/// The start: in the future (a minute of grace, as the server allows) and at most two years
/// ahead.
pub fn start(
    date: NaiveDate,
    value: &str,
    zone: Zone,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, String> {
    let at = zone.instant(date, clock(value)?)?;
    if at < now - time::Duration::seconds(START_GRACE_SECS) {
        return Err(format!("{date} {} is in the past", value.trim()));
    }
    if at > now + time::Duration::days(SCHEDULE_HORIZON_DAYS) {
        return Err("gigs can be scheduled at most two years ahead".to_owned());
    }
    Ok(at)
}

/// The end, on the same date as the start: after it, and at most 24 hours later.
pub fn end(
    date: NaiveDate,
    value: &str,
    zone: Zone,
    starts_at: OffsetDateTime,
) -> Result<OffsetDateTime, String> {
    let at = zone.instant(date, clock(value)?)?;
    if at <= starts_at {
        return Err(format!(
            "the end ({}) must be after the start ({}) on the same date",
            value.trim(),
            crate::output::local(starts_at).format("%H:%M")
        ));
    }
    if at - starts_at > time::Duration::hours(GIG_HOURS_MAX) {
        return Err(format!("a gig lasts at most {GIG_HOURS_MAX} hours"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> Zone {
        zone("UTC").unwrap()
    }

    #[test]
    fn a_search_has_at_most_100_characters_and_8_words_as_the_server_counts_them() {
        assert_eq!(search_words("Rock'n'roll -- 90s/2000s, live!"), 6);
        assert_eq!(search_words("  Café  "), 1);
        assert_eq!(search_words("?! --"), 0);
        assert_eq!(search("a b c d e f g h"), Ok(()));
        assert_eq!(
            search("a b c d e f g h i").unwrap_err(),
            "at most 8 words, words being runs of letters and digits (got 9)"
        );
        assert_eq!(search(&"é".repeat(100)), Ok(()));
        assert_eq!(
            search(&"é".repeat(101)).unwrap_err(),
            "at most 100 characters (got 101)"
        );
    }

    #[test]
    fn texts_follow_the_server_limits() {
        assert_eq!(title("  Late Night  "), Ok("Late Night".to_owned()));
        assert!(title("   ").is_err());
        assert!(title(&"x".repeat(TITLE_MAX + 1)).is_err());
        assert!(creator_name("a\u{7}b").is_err());
        assert_eq!(description(""), Ok(String::new()));
        assert!(description("line one\nline two").is_ok());
    }

    #[test]
    fn money_is_dollars_within_bounds() {
        assert_eq!(price("7.50"), Ok(Money(7_500_000)));
        assert_eq!(price("0"), Ok(Money::ZERO));
        assert!(price("-5").unwrap_err().contains("negative"));
        assert!(price("10000.01").is_err());
        assert!(price("seven").is_err());
        assert!(micropayment_rate("36.01").is_err());
        assert_eq!(micropayment_rate("0.36"), Ok(Money(360_000)));
    }

    #[test]
    fn categories_capacities_and_pointers() {
        assert_eq!(category("Music"), Ok(Category::Music));
        assert!(category("opera").unwrap_err().contains("comedy"));
        assert_eq!(capacity(""), Ok(None));
        assert_eq!(capacity("unlimited"), Ok(None));
        assert_eq!(capacity("50"), Ok(Some(50)));
        assert!(capacity("0").is_err());
        assert!(capacity("-3").is_err());
        assert!(payment_pointer("$wallet.example/alice").is_ok());
        assert!(payment_pointer("wallet.example/alice").is_err());
    }

    #[test]
    fn replay_windows_are_hours_up_to_a_year() {
        assert_eq!(replay_hours("0"), Ok(0));
        assert_eq!(replay_hours(" 48 "), Ok(48));
        assert_eq!(replay_hours("8760"), Ok(8760));
        assert!(replay_hours("8761").unwrap_err().contains("8760"));
        assert!(replay_hours("-1").is_err());
        assert!(replay_hours("two days").is_err());
    }

    #[test]
    fn zones_parse_offsets() {
        assert_eq!(utc(), Zone::Fixed(FixedOffset::east_opt(0).unwrap()));
        assert_eq!(
            zone("+05:30").unwrap(),
            Zone::Fixed(FixedOffset::east_opt(5 * 3600 + 1800).unwrap())
        );
        assert_eq!(
            zone("-08").unwrap(),
            Zone::Fixed(FixedOffset::west_opt(8 * 3600).unwrap())
        );
        assert!(zone("Europe/Paris").is_err());
        assert!(zone("+25:00").is_err());
    }

    #[test]
    fn windows_are_checked_like_the_server() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(); // 2027-01-15 08:00 UTC
        let day = date("2027-01-15").unwrap();
        assert!(date("2027-02-30").is_err());
        assert!(future_date("2027-01-14", utc(), now).is_err());
        assert!(start(day, "07:00", utc(), now).is_err());
        let starts = start(day, "20:00", utc(), now).unwrap();
        assert!(
            end(day, "19:00", utc(), starts)
                .unwrap_err()
                .contains("after the start")
        );
        assert!(end(day, "20:00", utc(), starts).is_err());
        let ends = end(day, "21:30", utc(), starts).unwrap();
        assert_eq!(ends - starts, time::Duration::minutes(90));
        let paris = zone("+01:00").unwrap();
        assert_eq!(paris.instant(day, clock("21:00").unwrap()).unwrap(), starts);
    }
}
