//! The publisher: pushes the clip over RTMP at real-time pace, as an encoder would, on a thread
//! and runtime of its own so that a thousand busy viewers cannot make it late.
//!
//! rml_rtmp's `Handshake` and `ClientSession` make the bytes; this module only moves them and
//! keeps time. Every video tag's send time goes into the [`Timeline`]; the publisher also owns
//! the measurement window, opening and closing it between two tags when asked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bookmygig_media::flv::{TagKind, encoded_tag_len};
use rml_rtmp::sessions::{ClientSessionEvent, PublishRequestType};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, watch};

use crate::clip::Clip;
use crate::rtmp_client::RtmpConnection;
use crate::timeline::{Phase, Timeline};

/// Where to publish: `rtmp://{addr}/{app}` with `stream_key`.
#[derive(Clone)]
pub struct RtmpTarget {
    /// `host:port`.
    pub addr: String,
    /// The RTMP application (`live`).
    pub app: String,
    /// The stream name; for BookMyGig a secret.
    pub stream_key: String,
}

impl std::fmt::Debug for RtmpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A BookMyGig stream key is a credential: keep it out of logs.
        f.debug_struct("RtmpTarget")
            .field("addr", &self.addr)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl RtmpTarget {
    /// Splits `rtmp://host[:port]/app/stream_key`.
    ///
    /// # Errors
    /// When the URL lacks the scheme, the app or the key.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("rtmp://")
            .with_context(|| format!("`{url}` is not an rtmp:// URL"))?;
        let mut parts = rest.splitn(3, '/');
        let (Some(authority), Some(app), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("expected rtmp://HOST[:PORT]/APP/STREAM_KEY");
        };
        if authority.is_empty() || app.is_empty() || key.is_empty() {
            bail!("expected rtmp://HOST[:PORT]/APP/STREAM_KEY");
        }
        let addr = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:1935")
        };
        Ok(Self {
            addr,
            app: app.to_owned(),
            stream_key: key.to_owned(),
        })
    }
}

/// What the main task asks of the publisher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Keep publishing.
    Run,
    /// Open the measurement window before the next tag.
    OpenWindow,
    /// Close it before the next tag.
    CloseWindow,
    /// Stop publishing and disconnect.
    Stop,
}

/// What the publisher did.
#[derive(Debug, Default)]
pub struct PublishReport {
    /// Audio and video tags sent.
    pub tags: u64,
    /// FLV-encoded bytes of the audio and video tags inside the window: what every viewer
    /// should receive of it.
    pub window_bytes: u64,
    /// Video frames inside the window.
    pub window_frames: u64,
    /// Media time covered by the window.
    pub window_media: Duration,
    /// The latest a tag left after its due time (a sign the load generator itself was starved).
    pub max_lag: Duration,
    /// Times the clip was started over.
    pub loops: u32,
}

/// A publisher running on its own thread.
pub struct Publisher {
    /// Resolves once the server has accepted the publish request (or failed to).
    pub ready: oneshot::Receiver<anyhow::Result<()>>,
    /// Commands from the main task.
    pub commands: watch::Sender<Command>,
    /// The thread, returning the report when it stops.
    pub thread: std::thread::JoinHandle<anyhow::Result<PublishReport>>,
}

/// Starts publishing `clip` to `target`.
///
/// # Errors
/// When the thread cannot be started.
pub fn spawn(
    target: RtmpTarget,
    clip: Arc<Clip>,
    timeline: Arc<Timeline>,
) -> anyhow::Result<Publisher> {
    let (ready_tx, ready) = oneshot::channel();
    let (commands, command_rx) = watch::channel(Command::Run);
    let thread = std::thread::Builder::new()
        .name("publisher".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the publisher's runtime")?;
            runtime.block_on(run(target, clip, timeline, command_rx, ready_tx))
        })
        .context("cannot start the publisher thread")?;
    Ok(Publisher {
        ready,
        commands,
        thread,
    })
}

async fn run(
    target: RtmpTarget,
    clip: Arc<Clip>,
    timeline: Arc<Timeline>,
    mut commands: watch::Receiver<Command>,
    ready: oneshot::Sender<anyhow::Result<()>>,
) -> anyhow::Result<PublishReport> {
    let mut connection = match start(&target, &clip).await {
        Ok(connection) => {
            let _ = ready.send(Ok(()));
            connection
        }
        Err(error) => {
            let _ = ready.send(Err(anyhow!("{error:#}")));
            return Err(error);
        }
    };
    let mut report = PublishReport::default();
    let started = tokio::time::Instant::now();
    let (mut index, mut pass_offset) = (0usize, 0u32);
    let (mut max_sent, mut window_first) = (0u32, None::<u32>);
    let mut pending = Command::Run;
    loop {
        let frame = &clip.frames[index];
        let timestamp = pass_offset.saturating_add(frame.offset_ms);
        let due = started + Duration::from_millis(u64::from(timestamp));
        tokio::select! {
            biased;
            changed = commands.changed() => {
                let command = *commands.borrow_and_update();
                if changed.is_err() || command == Command::Stop {
                    break;
                }
                pending = command;
            }
            read = connection.reader.read(&mut connection.buffer) => {
                // Acknowledgements and pings: answered, or the server's writes to us would stall.
                let read = read.context("reading from the RTMP server")?;
                if read == 0 {
                    bail!("the server closed the publishing connection");
                }
                let results = connection.session.handle_input(&connection.buffer[..read])?;
                connection.handle(results).await?;
            }
            () = tokio::time::sleep_until(due) => {
                // The bound is past every tag sent so far, so a tag is on the same side of it
                // for the publisher and for every viewer.
                match std::mem::replace(&mut pending, Command::Run) {
                    Command::OpenWindow if window_first.is_none() => {
                        window_first = Some(max_sent + 1);
                        timeline.open_window(max_sent + 1);
                    }
                    Command::CloseWindow if !timeline.is_closed() => {
                        if let Some(first) = window_first {
                            report.window_media = Duration::from_millis(u64::from(max_sent + 1 - first));
                        }
                        timeline.close_window(max_sent + 1);
                    }
                    _ => {}
                }
                let now = Instant::now();
                report.max_lag = report.max_lag.max(now.saturating_duration_since(due.into_std()));
                let rtmp_time = RtmpTimestamp::new(timestamp);
                let packet = match frame.kind {
                    TagKind::Video => {
                        timeline.record_send(timestamp, now);
                        connection.session.publish_video_data(frame.data.clone(), rtmp_time, false)?
                    }
                    _ => connection.session.publish_audio_data(frame.data.clone(), rtmp_time, false)?,
                };
                connection.handle(vec![packet]).await?;
                report.tags += 1;
                if timeline.phase(timestamp) == Phase::Inside {
                    report.window_bytes += encoded_tag_len(frame.data.len()) as u64;
                    report.window_frames += u64::from(frame.kind == TagKind::Video);
                }
                max_sent = max_sent.max(timestamp);
                index += 1;
                if index == clip.frames.len() {
                    index = 0;
                    pass_offset = pass_offset.saturating_add(clip.duration_ms);
                    report.loops += 1;
                }
            }
        }
    }
    let results = connection.session.stop_publishing()?;
    connection.handle(results).await?;
    connection.writer.shutdown().await.ok();
    Ok(report)
}

/// Connects and gets to the point of sending frames: connect, publish, metadata and the
/// sequence headers at timestamp 0.
async fn start(target: &RtmpTarget, clip: &Clip) -> anyhow::Result<RtmpConnection> {
    let mut connection = RtmpConnection::open(target).await?;
    let request = connection
        .session
        .request_publishing(target.stream_key.clone(), PublishRequestType::Live)?;
    connection
        .request(request, "publish", |e| {
            matches!(e, ClientSessionEvent::PublishRequestAccepted)
        })
        .await?;
    let mut packets = vec![connection.session.publish_metadata(&clip.metadata())?];
    let zero = RtmpTimestamp::new(0);
    if let Some(header) = &clip.video_header {
        packets.push(
            connection
                .session
                .publish_video_data(header.clone(), zero, false)?,
        );
    }
    if let Some(header) = &clip.audio_header {
        packets.push(
            connection
                .session
                .publish_audio_data(header.clone(), zero, false)?,
        );
    }
    connection.handle(packets).await?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtmp_url_gives_address_app_and_key() {
        let target = RtmpTarget::parse("rtmp://127.0.0.1:19350/live/bench").unwrap();
        assert_eq!(target.addr, "127.0.0.1:19350");
        assert_eq!(target.app, "live");
        assert_eq!(target.stream_key, "bench");
        assert_eq!(
            RtmpTarget::parse("rtmp://host/live/a/b").unwrap().addr,
            "host:1935"
        );
        assert!(RtmpTarget::parse("rtmp://host/live").is_err());
        assert!(RtmpTarget::parse("http://host/live/x").is_err());
        assert!(!format!("{target:?}").contains("bench"));
    }
}
