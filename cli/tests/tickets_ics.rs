//! `bookmygig tickets --ics`: the real binary against a real server writes an iCalendar file of
//! the signed-in account's tickets, read back here as a calendar program would (unfolded,
//! unescaped): one event per ticket, in UTC, with the command that plays the show.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A test failure is a panic.

mod common;

use std::collections::BTreeMap;

use bookmygig_api::Gig;
use common::{Serving as _, TestServer, User};
use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;

/// One `VEVENT`: property name → value (unescaped), the parameters dropped.
type Properties = BTreeMap<String, String>;

/// The events of an iCalendar text, checking its framing on the way: CRLF line ends, no
/// physical line over 75 octets, one `VCALENDAR`.
fn parse(text: &str) -> Vec<Properties> {
    assert!(text.ends_with("\r\n"), "CRLF at the end: {text:?}");
    let physical: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    for line in &physical {
        assert!(!line.contains('\n'), "a bare LF in {line:?}");
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    // Unfold: a line starting with a space or tab continues the one before.
    let mut lines: Vec<String> = Vec::new();
    for line in physical {
        match line.strip_prefix([' ', '\t']) {
            Some(rest) => lines.last_mut().expect("a first line").push_str(rest),
            None => lines.push(line.to_owned()),
        }
    }
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert!(lines.contains(&"VERSION:2.0".to_owned()));
    let mut events = Vec::new();
    let mut current: Option<Properties> = None;
    for line in lines {
        match line.as_str() {
            "BEGIN:VEVENT" => current = Some(Properties::new()),
            "END:VEVENT" => events.push(current.take().expect("an open VEVENT")),
            _ => {
                if let Some(event) = &mut current {
                    let (name, value) = line.split_once(':').expect("NAME:VALUE");
                    let name = name.split(';').next().unwrap_or(name).to_owned();
                    event.insert(name, unescape(value));
                }
            }
        }
    }
    events
}

/// A TEXT value unescaped (RFC 5545 §3.3.11).
fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `20260502T180000Z` as an instant.
fn utc(value: &str) -> OffsetDateTime {
    assert!(value.ends_with('Z'), "UTC: {value}");
    OffsetDateTime::parse(value, &Iso8601::DEFAULT).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn check_event(event: &Properties, gig: &Gig, server: &str) {
    // To the second, as iCalendar times go.
    let second = |at: OffsetDateTime| at.replace_nanosecond(0).expect("a valid time");
    assert_eq!(utc(&event["DTSTART"]), second(gig.starts_at));
    assert_eq!(utc(&event["DTEND"]), second(gig.ends_at));
    utc(&event["DTSTAMP"]);
    assert!(event["SUMMARY"].contains(&gig.title), "{event:?}");
    assert!(
        event["DESCRIPTION"].contains(&format!("bookmygig --server {server} play {}", gig.id)),
        "{event:?}"
    );
    assert_eq!(event["URL"], format!("{server}/api/v1/gigs/{}", gig.id));
    assert_eq!(event["STATUS"], "CONFIRMED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_ics_writes_one_event_per_ticket_that_reads_back() {
    let server = TestServer::start().await;
    // Two listing fees.
    let host = server.account("host", 198).await;
    // Commas, semicolons and a long title: escaped and folded.
    let jazz = server
        .gig_starting_soon(
            &host,
            "Jazz, Blues; and a very long title that will not fit on one line",
        )
        .await;
    let comedy = server.gig_starting_soon(&host, "Late Laughs").await;
    let fan = User::new(&server);
    fan.sign_up_with_funds("fan").await;
    for gig in [&jazz, &comedy] {
        fan.run(&["ticket", "buy", &gig.id.to_string()]).await.ok();
    }

    // To stdout, with `-` or with no file.
    for args in [&["tickets", "--ics", "-"][..], &["tickets", "--ics"][..]] {
        let events = parse(fan.run(args).await.ok());
        assert_eq!(events.len(), 2, "{args:?}");
        let uids: std::collections::BTreeSet<&String> =
            events.iter().map(|event| &event["UID"]).collect();
        assert_eq!(uids.len(), 2, "unique UIDs");
        for gig in [&jazz, &comedy] {
            let event = events
                .iter()
                .find(|event| event["SUMMARY"].starts_with(&gig.title))
                .unwrap_or_else(|| panic!("no event for {}: {events:?}", gig.title));
            check_event(event, gig, server.base());
        }
    }

    // To a file: the same calendar, and a note on stderr.
    let file = fan.config_dir().join("shows.ics");
    let run = fan
        .run(&["tickets", "--ics", &file.display().to_string()])
        .await;
    assert!(run.ok().is_empty(), "nothing on stdout: {run:?}");
    assert!(run.stderr.contains("Wrote 2 shows"), "{run:?}");
    let events = parse(&std::fs::read_to_string(&file).expect("the file"));
    assert_eq!(events.len(), 2);

    // Nobody signed in: a usage error, no file.
    let stranger = User::new(&server);
    let run = stranger.run(&["tickets", "--ics", "-"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}
