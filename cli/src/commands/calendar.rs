//! iCalendar (RFC 5545) text for `bookmygig tickets --ics`: one `VEVENT` per ticket, times in
//! UTC, text values escaped and every content line folded at 75 octets with CRLF endings.
//! Pure: events in, text out.

use time::OffsetDateTime;
use time::macros::format_description;

/// Longest content line, in octets, before it is folded (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// One show in the calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Globally unique and stable across exports, so calendars update the event in place.
    pub uid: String,
    /// When the show starts.
    pub starts_at: OffsetDateTime,
    /// When the show ends.
    pub ends_at: OffsetDateTime,
    /// One line: the title and who performs.
    pub summary: String,
    /// Free text (newlines allowed).
    pub description: String,
    /// Where the show is described.
    pub url: String,
    /// The show will not happen (the gig was cancelled, or the ticket refunded).
    pub cancelled: bool,
}

/// The calendar holding `events`, stamped `now`.
pub fn calendar(events: &[Event], now: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&fold(&text));
        out.push_str("\r\n");
    };
    line("BEGIN:VCALENDAR".to_owned());
    line("VERSION:2.0".to_owned());
    line("PRODID:-//BookMyGig//bookmygig tickets//EN".to_owned());
    line("CALSCALE:GREGORIAN".to_owned());
    line("METHOD:PUBLISH".to_owned());
    for event in events {
        line("BEGIN:VEVENT".to_owned());
        line(format!("UID:{}", escape(&event.uid)));
        line(format!("DTSTAMP:{}", utc(now)));
        line(format!("DTSTART:{}", utc(event.starts_at)));
        line(format!("DTEND:{}", utc(event.ends_at)));
        line(format!("SUMMARY:{}", escape(&event.summary)));
        line(format!("DESCRIPTION:{}", escape(&event.description)));
        // A URI value, not text: it is not escaped.
        line(format!("URL:{}", event.url));
        line(format!(
            "STATUS:{}",
            if event.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ));
        line("END:VEVENT".to_owned());
    }
    line("END:VCALENDAR".to_owned());
    out
}

/// `20260502T180000Z`: a DATE-TIME in UTC.
fn utc(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default()
}

/// A TEXT value escaped (RFC 5545 §3.3.11): backslash, semicolon and comma get a backslash,
/// a newline becomes `\n`, and carriage returns are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            other => out.push(other),
        }
    }
    out
}

/// A content line folded (RFC 5545 §3.1): at most 75 octets per physical line, each
/// continuation starting with one space, never splitting a UTF-8 character.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / LINE_OCTETS * 3);
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > LINE_OCTETS {
            out.push_str("\r\n ");
            // The leading space counts.
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn text_escapes_backslash_semicolon_comma_and_newlines() {
        assert_eq!(escape("a\\b; c, d\r\ne\nf"), "a\\\\b\\; c\\, d\\ne\\nf");
        assert_eq!(escape("plain: text"), "plain: text");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let short = "x".repeat(75);
        assert_eq!(fold(&short), short);
        let long = format!("DESCRIPTION:{}", "y".repeat(200));
        let folded = fold(&long);
        let lines: Vec<&str> = folded.split("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= 75), "{lines:?}");
        assert!(lines[1..].iter().all(|l| l.starts_with(' ')));
        assert_eq!(lines.concat().replace(' ', ""), long.replace(' ', ""));
        // Two-octet characters: a fold never falls inside one.
        let accents = format!("SUMMARY:{}", "é".repeat(100));
        for line in fold(&accents).split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        let unfolded = fold(&accents).replace("\r\n ", "");
        assert_eq!(unfolded, accents);
    }

    #[test]
    fn a_calendar_has_one_event_per_ticket_in_utc_with_crlf() {
        let event = Event {
            uid: "ticket-1@example.com".to_owned(),
            starts_at: datetime!(2026-05-02 20:00 +02:00),
            ends_at: datetime!(2026-05-02 21:30 +02:00),
            summary: "Jazz, late; live".to_owned(),
            description: "Watch: bookmygig play 1".to_owned(),
            url: "http://h/api/v1/gigs/1".to_owned(),
            cancelled: false,
        };
        let text = calendar(&[event], datetime!(2026-05-01 10:00 UTC));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
        let lines: Vec<&str> = text.split("\r\n").collect();
        for wanted in [
            "BEGIN:VEVENT",
            "DTSTAMP:20260501T100000Z",
            "DTSTART:20260502T180000Z",
            "DTEND:20260502T193000Z",
            "SUMMARY:Jazz\\, late\\; live",
            "STATUS:CONFIRMED",
        ] {
            assert!(lines.contains(&wanted), "{wanted} in {text}");
        }
    }
}
