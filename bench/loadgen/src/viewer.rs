//! One viewer, over HTTP-FLV (a GET over a plain TCP socket, the body de-chunked and split into
//! FLV tags) or RTMP play (rml_rtmp's client session), each video tag timed against its send
//! time.
//!
//! A viewer reads as fast as the server sends: it models a player with a healthy network, so
//! whatever it misses or receives late is the server's doing (or the shared CPU's).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bookmygig_media::flv::{FlvReader, TagKind, encoded_tag_len};
use bookmygig_media::video::parse_video_tag;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use rml_rtmp::sessions::ClientSessionEvent;

use crate::http::{BodyFraming, HttpUrl, MAX_HEAD_LEN, parse_response_head};
use crate::publish::RtmpTarget;
use crate::rtmp_client::RtmpConnection;
use crate::timeline::{Phase, Timeline};

/// How long connecting and getting the response head may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Socket read buffer per viewer.
const READ_BUFFER: usize = 64 * 1024;

/// Counters the main task watches while viewers join.
#[derive(Debug, Default)]
pub struct Progress {
    /// Viewers that received their first frame.
    pub playing: AtomicUsize,
    /// Viewers that are playing or gave up: once all have, the window can open.
    pub settled: AtomicUsize,
}

/// How a viewer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Watched until the run told it to stop.
    Watched,
    /// Never got a stream: connection refused, an error status, or no FLV.
    Failed(String),
    /// Got the stream, then lost it before the end of the run.
    Dropped(String),
}

/// What one viewer saw.
#[derive(Debug)]
pub struct ViewerReport {
    /// How it ended.
    pub outcome: Outcome,
    /// From starting to connect to the first coded video frame.
    pub ttff: Option<Duration>,
    /// Whether that first frame was a keyframe (a decoder can start there).
    pub started_on_keyframe: bool,
    /// Publish-to-receive latency of every video tag inside the window, in µs.
    pub latencies_us: Vec<u32>,
    /// FLV bytes of the audio and video tags inside the window.
    pub window_bytes: u64,
    /// Video frames inside the window.
    pub window_frames: u64,
    /// Video tags inside the window whose send time was unknown (timestamps rewritten?).
    pub unmatched: u64,
}

/// Where viewers play the stream.
#[derive(Debug)]
pub enum PlayUrl {
    /// An HTTP-FLV URL.
    Flv(HttpUrl),
    /// An RTMP play URL, `rtmp://HOST:PORT/APP/STREAM`.
    Rtmp(RtmpTarget),
}

impl PlayUrl {
    /// An `http://` URL plays over HTTP-FLV, an `rtmp://` one over RTMP.
    ///
    /// # Errors
    /// When the URL is neither, or malformed.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("rtmp://") {
            Ok(PlayUrl::Rtmp(RtmpTarget::parse(url)?))
        } else {
            Ok(PlayUrl::Flv(HttpUrl::parse(url)?))
        }
    }
}

/// Watches `url` until `stop` turns true.
pub async fn watch(
    url: Arc<PlayUrl>,
    timeline: Arc<Timeline>,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
) -> ViewerReport {
    let mut viewer = Viewer {
        timeline,
        progress,
        started: Instant::now(),
        settled: false,
        report: ViewerReport {
            outcome: Outcome::Watched,
            ttff: None,
            started_on_keyframe: false,
            latencies_us: Vec::new(),
            window_bytes: 0,
            window_frames: 0,
            unmatched: 0,
        },
    };
    let ended = tokio::select! {
        _ = stop.wait_for(|stop| *stop) => None,
        ended = viewer.session(&url) => Some(ended),
    };
    if let Some(ended) = ended {
        let reason = match ended {
            Ok(()) => "the server ended the stream".to_owned(),
            Err(error) => format!("{error:#}"),
        };
        viewer.report.outcome = if viewer.report.ttff.is_some() {
            Outcome::Dropped(reason)
        } else {
            Outcome::Failed(reason)
        };
    }
    viewer.settle();
    viewer.report
}

struct Viewer {
    timeline: Arc<Timeline>,
    progress: Arc<Progress>,
    /// When the viewer started to connect.
    started: Instant,
    /// Whether `progress.settled` counts this viewer yet.
    settled: bool,
    report: ViewerReport,
}

impl Viewer {
    fn settle(&mut self) {
        if !self.settled {
            self.settled = true;
            self.progress.settled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Plays until the stream ends (`Ok`) or fails.
    async fn session(&mut self, url: &PlayUrl) -> anyhow::Result<()> {
        match url {
            PlayUrl::Flv(url) => self.flv_session(url).await,
            PlayUrl::Rtmp(target) => self.rtmp_session(target).await,
        }
    }

    /// Connects, asks to play and reads RTMP messages until the stream ends or fails.
    async fn rtmp_session(&mut self, target: &RtmpTarget) -> anyhow::Result<()> {
        let (mut connection, first) = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut connection = RtmpConnection::open(target).await?;
            let request = connection
                .session
                .request_playback(target.stream_key.clone())?;
            let first = connection
                .request(request, "play", |e| {
                    matches!(e, ClientSessionEvent::PlaybackRequestAccepted)
                })
                .await?;
            anyhow::Ok((connection, first))
        })
        .await
        .map_err(|_| anyhow!("not playing within {CONNECT_TIMEOUT:?}"))??;
        let mut events = first;
        let mut received = Instant::now();
        loop {
            for event in events {
                match event {
                    ClientSessionEvent::VideoDataReceived { timestamp, data } => {
                        self.observe(TagKind::Video, timestamp.value, &data, received);
                    }
                    ClientSessionEvent::AudioDataReceived { timestamp, data } => {
                        self.observe(TagKind::Audio, timestamp.value, &data, received);
                    }
                    _ => {}
                }
            }
            let read = connection
                .reader
                .read(&mut connection.buffer)
                .await
                .context("reading the stream")?;
            if read == 0 {
                return Ok(());
            }
            received = Instant::now();
            let results = connection
                .session
                .handle_input(&connection.buffer[..read])
                .context("bad RTMP from the server")?;
            events = connection.handle(results).await?;
        }
    }

    /// Connects and reads an HTTP-FLV body until the stream ends (`Ok`) or fails.
    async fn flv_session(&mut self, url: &HttpUrl) -> anyhow::Result<()> {
        let (mut socket, mut buf, mut framing) =
            tokio::time::timeout(CONNECT_TIMEOUT, Self::open(url))
                .await
                .map_err(|_| anyhow!("no response within {CONNECT_TIMEOUT:?}"))??;
        let mut flv = FlvReader::new();
        loop {
            if !buf.is_empty() {
                let received = Instant::now();
                let body_done = match &mut framing {
                    BodyFraming::Chunked(decoder) => {
                        decoder.decode(&buf, &mut |part| flv.push(part))?;
                        decoder.is_done()
                    }
                    BodyFraming::Length(remaining) => {
                        let take = buf
                            .len()
                            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                        flv.push(&buf[..take]);
                        *remaining -= take as u64;
                        *remaining == 0
                    }
                    BodyFraming::UntilClose => {
                        flv.push(&buf);
                        false
                    }
                };
                buf.clear();
                while let Some(tag) = flv.next_tag().context("bad FLV from the server")? {
                    self.observe(tag.kind, tag.timestamp_ms, &tag.data, received);
                }
                if body_done {
                    return Ok(());
                }
            }
            if socket
                .read_buf(&mut buf)
                .await
                .context("reading the stream")?
                == 0
            {
                return Ok(());
            }
        }
    }

    /// Connects, sends the GET and reads the response head; returns the socket, the body bytes
    /// already read and the body's framing.
    async fn open(url: &HttpUrl) -> anyhow::Result<(TcpStream, BytesMut, BodyFraming)> {
        let mut socket = TcpStream::connect(&url.authority)
            .await
            .with_context(|| format!("cannot connect to {}", url.authority))?;
        socket.write_all(&url.get_request()).await?;
        let mut buf = BytesMut::with_capacity(READ_BUFFER);
        let head = loop {
            if socket.read_buf(&mut buf).await? == 0 {
                bail!("connection closed before a response");
            }
            if let Some(head) = parse_response_head(&buf)? {
                break head;
            }
            if buf.len() > MAX_HEAD_LEN {
                bail!("response head too long");
            }
        };
        if head.status != 200 {
            let body = String::from_utf8_lossy(&buf[head.len..]);
            bail!(
                "HTTP {}: {}",
                head.status,
                body.chars().take(200).collect::<String>()
            );
        }
        buf.advance(head.len);
        Ok((socket, buf, head.framing))
    }

    /// Takes one tag of `kind` stamped `timestamp_ms` with `data` as its body, received at
    /// `received`.
    fn observe(&mut self, kind: TagKind, timestamp_ms: u32, data: &[u8], received: Instant) {
        if kind == TagKind::Script {
            return;
        }
        if kind == TagKind::Video
            && self.report.ttff.is_none()
            && let Ok(info) = parse_video_tag(data)
            && !info.is_sequence_header()
        {
            self.report.ttff = Some(received.saturating_duration_since(self.started));
            self.report.started_on_keyframe = info.is_keyframe();
            self.progress.playing.fetch_add(1, Ordering::Relaxed);
            self.settle();
        }
        if self.timeline.phase(timestamp_ms) != Phase::Inside {
            return;
        }
        // Counted as FLV bytes over either protocol, as the publisher counts what it sent.
        self.report.window_bytes += encoded_tag_len(data.len()) as u64;
        if kind == TagKind::Video {
            self.report.window_frames += 1;
            match self
                .timeline
                .latency(timestamp_ms, self.timeline.micros(received))
            {
                Some(latency) => self
                    .report
                    .latencies_us
                    .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX)),
                None => self.report.unmatched += 1,
            }
        }
    }
}
