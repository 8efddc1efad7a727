//! An HTTP-FLV viewer that reads as fast as the server sends and checks every video frame it
//! gets, and the playback URL it watches.

use std::time::Duration;

use bookmygig_api::{Gig, Playback};
use bookmygig_client::Client;
use bookmygig_media::flv::{FlvReader, Tag, TagKind};
use bookmygig_media::video::{VideoPacket, parse_video_tag};
use reqwest::Method;

/// Longest wait for the next tag of a live stream, on a loaded 2-core machine.
const TAG_PATIENCE: Duration = Duration::from_secs(20);
/// Largest step between two video frames of a viewer that missed none: one frame at 30 fps is
/// 33 or 34 ms, so anything near 100 ms means frames were skipped.
pub const MAX_FRAME_STEP_MS: u32 = 100;

/// The signed HTTP-FLV URL of `gig`, as `client` (its creator or a ticket holder) gets it.
pub async fn playback_url(client: &Client, gig: &Gig) -> String {
    let response = client
        .request(Method::POST, &format!("/gigs/{}/playback", gig.id))
        .send()
        .await
        .expect("playback grant");
    assert!(response.status().is_success(), "{}", response.status());
    response.json::<Playback>().await.expect("playback").flv_url
}

/// An HTTP-FLV viewer that reads as fast as the server sends and checks the video it gets:
/// the first frame is a keyframe, timestamps go up, and the largest step between frames is
/// kept (a skip shows as a step well over one frame).
#[derive(Debug)]
pub struct FlvViewer {
    #[allow(dead_code)] // Shown by `Debug` when an assertion fails.
    url: String,
    /// Video frames (pictures, not sequence headers) read so far.
    pub video_frames: usize,
    /// Timestamp of the last video frame.
    pub last_video_ms: u32,
    /// Largest step between two consecutive video frames.
    pub max_step_ms: u32,
    response: reqwest::Response,
    reader: FlvReader,
}

impl FlvViewer {
    /// Opens `url`, which must answer 200.
    pub async fn open(url: &str) -> FlvViewer {
        let response = reqwest::get(url).await.expect("FLV request");
        assert_eq!(response.status(), 200, "{url}");
        FlvViewer {
            url: url.to_owned(),
            video_frames: 0,
            last_video_ms: 0,
            max_step_ms: 0,
            response,
            reader: FlvReader::new(),
        }
    }

    /// The next tag, `None` at the end of the stream.
    pub async fn next_tag(&mut self) -> Option<Tag> {
        let tag = tokio::time::timeout(TAG_PATIENCE, async {
            loop {
                if let Some(tag) = self.reader.next_tag().expect("valid FLV") {
                    return Some(tag);
                }
                match self.response.chunk().await.expect("FLV body") {
                    Some(bytes) => self.reader.push(&bytes),
                    None => return None,
                }
            }
        })
        .await
        .expect("the FLV stream goes on")?;
        if tag.kind == TagKind::Video {
            let info = parse_video_tag(&tag.data).expect("a video tag");
            // Pictures only: sequence headers and the end-of-sequence tag repeat timestamps.
            if info.packet == VideoPacket::CodedFrames {
                if self.video_frames == 0 {
                    assert!(info.is_keyframe(), "the first frame is a keyframe");
                } else {
                    assert!(
                        tag.timestamp_ms > self.last_video_ms,
                        "timestamps go up: {self:?}"
                    );
                    let step = tag.timestamp_ms - self.last_video_ms;
                    self.max_step_ms = self.max_step_ms.max(step);
                }
                self.video_frames += 1;
                self.last_video_ms = tag.timestamp_ms;
            }
        }
        Some(tag)
    }

    /// Reads until `frames` more video frames have arrived.
    pub async fn read_video_frames(&mut self, frames: usize) {
        let target = self.video_frames + frames;
        while self.video_frames < target {
            self.next_tag().await.expect("the stream goes on");
        }
    }
}
