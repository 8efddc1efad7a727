//! The monetization channel (`GET /api/v1/monetization`): server-sent events, each a
//! [`MonetizationEvent`].
//!
//! [`Client::monetization`](crate::Client::monetization) opens it; [`MonetizationStream`]
//! yields the events. The SSE framing is parsed by [`SseParser`], which does no I/O.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::time::Duration;

use bookmygig_api::MonetizationEvent;
use reqwest::Method;

use crate::{ClientError, Result};

/// How long the channel's request may last: the server keeps it open for as long as the client
/// wants, so the client's usual 30 s timeout must not apply. Callers watch for silence
/// themselves (the server sends a comment every 15 s).
const CHANNEL_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// One server-sent event: its `event:` name and its `data:` lines joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `message` when absent.
    pub name: String,
    /// The `data:` fields, joined with newlines.
    pub data: String,
}

/// Largest event the parser holds (its lines and data together). The server's events are a
/// few hundred bytes; a stream that grows one past this is not the server's.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Parses the `text/event-stream` format from bytes as they arrive (sans I/O).
///
/// Memory is bounded: once a line or an event's data exceeds [`MAX_EVENT_BYTES`] the parser
/// stops ([`overflowed`](Self::overflowed)) and yields nothing more.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet ended.
    partial: Vec<u8>,
    /// The event being read.
    name: Option<String>,
    /// Its data lines.
    data: Vec<String>,
    /// Bytes held in `data`.
    data_bytes: usize,
    /// An event grew past [`MAX_EVENT_BYTES`].
    overflowed: bool,
}

impl SseParser {
    /// Whether the stream sent an event larger than [`MAX_EVENT_BYTES`] (the parser stopped).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Feeds `bytes`; returns the events they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if self.overflowed {
                break;
            }
            if byte != b'\n' {
                self.partial.push(byte);
                if self.partial.len() + self.data_bytes > MAX_EVENT_BYTES {
                    self.overflow();
                }
                continue;
            }
            let mut line = std::mem::take(&mut self.partial);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(SseEvent {
                        name: self.name.take().unwrap_or_else(|| "message".to_owned()),
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                self.data_bytes = 0;
                self.name = None;
                continue;
            }
            // A comment (the server's keep-alive).
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.name = Some(value.to_owned()),
                "data" => {
                    self.data_bytes += value.len() + 1;
                    self.data.push(value.to_owned());
                }
                _ => {}
            }
        }
        events
    }

    fn overflow(&mut self) {
        self.overflowed = true;
        self.partial = Vec::new();
        self.data = Vec::new();
        self.name = None;
    }
}

/// An open monetization channel.
#[derive(Debug)]
pub struct MonetizationStream {
    /// The streaming answer.
    response: reqwest::Response,
    /// The framing.
    parser: SseParser,
    /// Events parsed but not yet returned.
    ready: std::collections::VecDeque<SseEvent>,
}

impl MonetizationStream {
    /// The next event; `None` when the server ended the channel. Keep-alive comments are
    /// consumed here; wrap the call in a timeout to notice a silent connection.
    ///
    /// # Errors
    /// [`ClientError::Transport`] when the connection broke; [`ClientError::Decode`] for an
    /// event whose data is not a [`MonetizationEvent`].
    pub async fn next(&mut self) -> Option<Result<MonetizationEvent>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(serde_json::from_str(&event.data).map_err(|err| {
                    ClientError::Decode(format!("a `{}` event: {err}", event.name))
                }));
            }
            if self.parser.overflowed() {
                return Some(Err(ClientError::Decode(format!(
                    "an event over {MAX_EVENT_BYTES} bytes"
                ))));
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.ready.extend(self.parser.push(&bytes)),
                Ok(None) => return None,
                Err(err) => return Some(Err(ClientError::Transport(err))),
            }
        }
    }
}

impl crate::Client {
    /// `GET /monetization`: opens the signed-in account's monetization channel. While it is
    /// open and nothing plays, browsing pays the platform (see the API documentation).
    ///
    /// # Errors
    /// An `unauthorized` problem, or any error of [`ClientError`].
    pub async fn monetization(&self) -> Result<MonetizationStream> {
        let request = self
            .request(Method::GET, "/monetization")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .timeout(CHANNEL_LIFETIME);
        let response = request.send().await?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            return Err(match serde_json::from_slice(&body) {
                Ok(problem) => ClientError::Problem(problem),
                Err(_) => ClientError::UnexpectedStatus {
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                },
            });
        }
        Ok(MonetizationStream {
            response,
            parser: SseParser::default(),
            ready: std::collections::VecDeque::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_end_at_a_blank_line_and_comments_are_skipped() {
        let mut parser = SseParser::default();
        let mut events = parser.push(b": keep-alive\n\nevent: started\ndata: {\"a\":");
        assert!(events.is_empty());
        events.extend(parser.push(b"1}\r\n\r\nevent: stopped\ndata: x\ndata: y\n\n"));
        assert_eq!(
            events,
            [
                SseEvent {
                    name: "started".into(),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    name: "stopped".into(),
                    data: "x\ny".into()
                },
            ]
        );
    }

    #[test]
    fn an_endless_line_or_event_stops_the_parser_at_its_bound() {
        let mut parser = SseParser::default();
        for _ in 0..100 {
            assert!(parser.push(&[b'x'; 4096]).is_empty());
        }
        assert!(parser.overflowed());
        assert!(parser.partial.capacity() <= MAX_EVENT_BYTES * 2);
        assert!(parser.push(b"\n\ndata: late\n\n").is_empty());

        // Many short data lines of one event count together.
        let mut parser = SseParser::default();
        for _ in 0..MAX_EVENT_BYTES / 8 {
            assert!(parser.push(b"data: 12345678\n").is_empty());
        }
        assert!(parser.overflowed());

        // Events under the bound, one after another, never add up.
        let mut parser = SseParser::default();
        for _ in 0..1000 {
            let line = format!("data: {}\n\n", "y".repeat(1000));
            assert_eq!(parser.push(line.as_bytes()).len(), 1);
        }
        assert!(!parser.overflowed());
    }

    #[test]
    fn an_event_without_a_name_is_a_message() {
        let mut parser = SseParser::default();
        assert_eq!(
            parser.push(b"data:plain\n\n"),
            [SseEvent {
                name: "message".into(),
                data: "plain".into()
            }]
        );
    }
}
