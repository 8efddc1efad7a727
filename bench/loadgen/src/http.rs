//! Just enough HTTP/1.1 for a streaming GET, as pure code: the request line, the response head
//! and the body framings a live FLV response can use (chunked, a length, or until close).
//!
//! No sockets here: [`crate::viewer`] reads and writes them. A general HTTP client (reqwest,
//! hyper) would do, but per viewer it costs more than the few hundred lines a load generator
//! with a thousand connections can afford on a 2-core machine it shares with the server.

use anyhow::{Context, bail};

/// Longest response head accepted; anything larger is not a media server talking.
pub const MAX_HEAD_LEN: usize = 16 * 1024;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE_LEN: usize = 1024;

/// An `http://host:port/path?query` URL, split for a GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` (port 80 when absent), for connecting and for the `Host` header.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl HttpUrl {
    /// Splits `url`.
    ///
    /// # Errors
    /// When it is not a plain `http://` URL with a host.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("`{url}` is not an http:// URL"))?;
        let (authority, target) = match rest.find(['/', '?']) {
            Some(at) if rest.as_bytes()[at] == b'/' => (&rest[..at], rest[at..].to_owned()),
            Some(at) => (&rest[..at], format!("/{}", &rest[at..])),
            None => (rest, "/".to_owned()),
        };
        if authority.is_empty() {
            bail!("`{url}` has no host");
        }
        let authority = if authority.rsplit_once(':').is_some() {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Self { authority, target })
    }

    /// The GET request for this URL, asking the server to keep streaming.
    pub fn get_request(&self) -> Vec<u8> {
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bookmygig-loadgen\r\nAccept: */*\r\n\r\n",
            self.target, self.authority
        )
        .into_bytes()
    }
}

/// How the body of a response is delimited.
#[derive(Debug)]
pub enum BodyFraming {
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
    /// `Content-Length`: this many bytes remain.
    Length(u64),
    /// Neither: the body runs until the connection closes.
    UntilClose,
}

/// The parts of a response head a viewer needs.
#[derive(Debug)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// How the body is framed.
    pub framing: BodyFraming,
    /// Length of the head, blank line included: the body starts there.
    pub len: usize,
}

/// Parses a response head from the start of `buf`; `Ok(None)` until the blank line has arrived.
///
/// # Errors
/// When the head is malformed or longer than [`MAX_HEAD_LEN`].
pub fn parse_response_head(buf: &[u8]) -> anyhow::Result<Option<ResponseHead>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD_LEN {
            bail!("response head longer than {MAX_HEAD_LEN} bytes");
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: `{status_line}`");
    }
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line `{status_line}`"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("bad header line `{line}`");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<u64>()
                    .with_context(|| format!("bad Content-Length `{value}`"))?,
            );
        }
    }
    let framing = match (chunked, length) {
        (true, _) => BodyFraming::Chunked(ChunkedDecoder::default()),
        (false, Some(length)) => BodyFraming::Length(length),
        (false, None) => BodyFraming::UntilClose,
    };
    Ok(Some(ResponseHead {
        status,
        framing,
        len: end + 4,
    }))
}

/// Where a [`ChunkedDecoder`] is in the body.
#[derive(Debug, Default, PartialEq, Eq)]
enum ChunkState {
    /// Reading a chunk-size line (hex size, optional extensions, CRLF).
    #[default]
    Size,
    /// Inside a chunk's data: this many bytes remain.
    Data(u64),
    /// Expecting the CR after a chunk's data.
    DataCr,
    /// Expecting the LF after a chunk's data.
    DataLf,
    /// After the last (zero-size) chunk: reading trailer lines up to the blank one.
    Trailer,
    /// The body is complete.
    Done,
}

/// Incremental decoder of a `Transfer-Encoding: chunked` body: feed it bytes as they arrive,
/// it hands out the payload slices.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// The part of a size or trailer line received so far.
    line: Vec<u8>,
}

impl ChunkedDecoder {
    /// Decodes `input`, passing every payload slice to `payload` in order.
    ///
    /// # Errors
    /// When the framing is malformed; the decoder is then of no further use.
    pub fn decode(
        &mut self,
        mut input: &[u8],
        payload: &mut impl FnMut(&[u8]),
    ) -> anyhow::Result<()> {
        while !input.is_empty() {
            match self.state {
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(newline) = input.iter().position(|&b| b == b'\n') else {
                        self.take_line_part(input)?;
                        return Ok(());
                    };
                    self.take_line_part(&input[..=newline])?;
                    input = &input[newline + 1..];
                    let line = std::mem::take(&mut self.line);
                    let line = line
                        .strip_suffix(b"\r\n")
                        .context("chunk line does not end with CRLF")?;
                    if self.state == ChunkState::Trailer {
                        if line.is_empty() {
                            self.state = ChunkState::Done;
                        }
                        continue;
                    }
                    let size = line.split(|&b| b == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(size)
                        .ok()
                        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
                        .with_context(|| {
                            format!("bad chunk size `{}`", String::from_utf8_lossy(line))
                        })?;
                    self.state = if size == 0 {
                        ChunkState::Trailer
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(remaining) => {
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    payload(&input[..take]);
                    input = &input[take..];
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataCr | ChunkState::DataLf => {
                    let expected = if self.state == ChunkState::DataCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if input[0] != expected {
                        bail!("chunk data is not followed by CRLF");
                    }
                    input = &input[1..];
                    self.state = if self.state == ChunkState::DataCr {
                        ChunkState::DataLf
                    } else {
                        ChunkState::Size
                    };
                }
                ChunkState::Done => bail!("bytes after the end of a chunked body"),
            }
        }
        Ok(())
    }

    /// Whether the terminating chunk and trailer have been read.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    fn take_line_part(&mut self, part: &[u8]) -> anyhow::Result<()> {
        if self.line.len() + part.len() > MAX_LINE_LEN {
            bail!("chunk line longer than {MAX_LINE_LEN} bytes");
        }
        self.line.extend_from_slice(part);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_split_into_authority_and_target() {
        let url = HttpUrl::parse("http://127.0.0.1:8000/live/bench.flv?token=a.b").unwrap();
        assert_eq!(url.authority, "127.0.0.1:8000");
        assert_eq!(url.target, "/live/bench.flv?token=a.b");
        assert_eq!(
            HttpUrl::parse("http://example.com").unwrap(),
            HttpUrl {
                authority: "example.com:80".into(),
                target: "/".into()
            }
        );
        assert_eq!(HttpUrl::parse("http://h:1?x").unwrap().target, "/?x");
        assert!(HttpUrl::parse("https://h/").is_err());
        assert!(HttpUrl::parse("http:///x").is_err());
    }

    #[test]
    fn head_is_parsed_once_complete() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\nFLV";
        assert!(parse_response_head(&head[..20]).unwrap().is_none());
        let parsed = parse_response_head(head).unwrap().unwrap();
        assert_eq!(parsed.status, 200);
        assert!(matches!(parsed.framing, BodyFraming::Chunked(_)));
        assert_eq!(&head[parsed.len..], b"FLV");

        let parsed = parse_response_head(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(parsed.status, 403);
        assert!(matches!(parsed.framing, BodyFraming::Length(12)));
        let parsed = parse_response_head(b"HTTP/1.0 200 OK\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(matches!(parsed.framing, BodyFraming::UntilClose));
        assert!(parse_response_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_body_decodes_whatever_the_split() {
        let body =
            b"5;ext=1\r\nhello\r\n1\r\n \r\nB\r\nchunked wor\r\n2\r\nld\r\n0\r\nX-T: 1\r\n\r\n";
        for split in 0..=body.len() {
            let mut decoder = ChunkedDecoder::default();
            let mut out = Vec::new();
            let mut sink = |part: &[u8]| out.extend_from_slice(part);
            decoder.decode(&body[..split], &mut sink).unwrap();
            decoder.decode(&body[split..], &mut sink).unwrap();
            assert_eq!(out, b"hello chunked world", "split at {split}");
            assert!(decoder.is_done());
        }
    }

    #[test]
    fn malformed_chunks_are_errors() {
        let mut sink = |_: &[u8]| {};
        assert!(
            ChunkedDecoder::default()
                .decode(b"zz\r\n", &mut sink)
                .is_err()
        );
        assert!(
            ChunkedDecoder::default()
                .decode(b"1\r\nab", &mut sink)
                .is_err()
        );
        assert!(
            ChunkedDecoder::default()
                .decode(b"1\nab", &mut sink)
                .is_err()
        );
        assert!(
            ChunkedDecoder::default()
                .decode(&[b'1'; 2000], &mut sink)
                .is_err()
        );
    }
}
