//! The RTMP server side fed raw bytes from a peer, split into reads at fuzzer-chosen points,
//! through the very [`Session`] a connection drives (`server/src/rtmp/session.rs`: rml_rtmp's
//! handshake, then for each read the server's `ChunkGuard` first and rml_rtmp's
//! `ServerSession` second). Every request the session raises is granted (a publish, a play) as
//! the connection does once the policy allows it; media goes into a real `StreamHub` publisher
//! (classification, facts, GOP cache), and a player is sent its start sequence and a tag (as
//! the chunks shared by every player) after every read. Errors end the input, as they end a
//! connection; only panics, timeouts and running out of memory are failures.
//!
//! One exception: the guard runs rml_rtmp's chunk deserializer under `catch_unwind` and turns
//! its panics (unchecked arithmetic on inconsistent chunk headers, which overflow checks make
//! panic in this build) into a refusal, before the session sees those bytes. libFuzzer's panic
//! hook would abort on them anyway, so this target's hook lets panics raised inside
//! rml_rtmp's `chunk_io` through to that `catch_unwind`; any panic that is not caught there
//! still aborts (libfuzzer-sys aborts on a panic leaving the target).
#![no_main]

mod common;

use std::sync::Arc;

use bookmygig_api::GigId;
use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::MediaTag;
use bookmygig_media::metadata::StreamFacts;
use bookmygig_server::live::StreamHub;
use bookmygig_server::live::hub::Publisher;
use bookmygig_server::rtmp::chunks;
use bookmygig_server::rtmp::session::{Output, Session};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

/// What the connection has been granted.
enum Role {
    Idle,
    Publishing(Publisher),
    Playing,
}

struct Connection {
    session: Session,
    handshaking: bool,
    role: Role,
    hub: Arc<StreamHub>,
    /// Bytes the server would have written, to keep the packets from being optimised away.
    written: usize,
}

/// Why the connection would close (the reason does not matter here).
struct Closed;

impl<E: std::fmt::Debug> From<E> for Closed {
    fn from(_: E) -> Self {
        Closed
    }
}

impl Connection {
    fn new() -> Self {
        Connection {
            session: Session::new(),
            handshaking: true,
            role: Role::Idle,
            hub: StreamHub::new(),
            written: 0,
        }
    }

    fn read(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        if self.handshaking {
            let step = self.session.handshake(bytes)?;
            self.written += step.reply.len();
            self.handshaking = !step.done;
        } else {
            self.session.receive(bytes)?;
        }
        self.drain()?;
        // A player gets a tag between reads, as the connection interleaves them.
        if matches!(self.role, Role::Playing) {
            let tag = MediaTag::new(
                TagKind::Video,
                40,
                Bytes::from_static(&[0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41]),
            )?;
            let stream_id = self.session.playing_stream_id().ok_or(Closed)?;
            let mut chunks = BytesMut::new();
            chunks::append_tag(&mut chunks, &tag, stream_id, &mut Bytes::new);
            self.written += chunks.len();
        }
        Ok(())
    }

    /// Does what the session asks until it waits for the peer again.
    fn drain(&mut self) -> Result<(), Closed> {
        while let Some(output) = self.session.next_output()? {
            match output {
                Output::Send(bytes) => self.written += bytes.len(),
                Output::UnknownApp { farewell, .. } => {
                    self.written += farewell.len();
                    return Err(Closed);
                }
                Output::PublishRequested { request_id, .. } => {
                    self.session.accept_publish(request_id)?;
                    let publisher = self.hub.start_publishing(GigId::from_bytes([7; 16]))?;
                    self.role = Role::Publishing(publisher);
                }
                Output::PlayRequested {
                    request_id,
                    stream_id,
                    ..
                } => {
                    self.session.accept_play(request_id, stream_id)?;
                    self.session.start_playback(&player_facts(), &start_tags())?;
                    self.role = Role::Playing;
                }
                Output::Media(tag) => {
                    let Role::Publishing(publisher) = &self.role else {
                        return Err(Closed);
                    };
                    publisher.push(tag);
                }
                Output::PublishFinished => self.role = Role::Idle,
                Output::PlayFinished => return Err(Closed),
            }
        }
        Ok(())
    }
}

/// What a 720p H.264/AAC stream says about itself, for a player's metadata.
fn player_facts() -> StreamFacts {
    StreamFacts {
        video_codec: Some("h264".into()),
        width: Some(1280),
        height: Some(720),
        audio_codec: Some("aac".into()),
        ..StreamFacts::default()
    }
}

/// A player's start sequence: AVC and AAC sequence headers and a keyframe.
fn start_tags() -> Vec<MediaTag> {
    let avc = [
        0x17, 0, 0, 0, 0, 1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, 9, 0x67, 0x42, 0xC0, 0x1E, 0xDA,
        0x02, 0x80, 0xBF, 0xE5, 0x01, 0, 4, 0x68, 0xCE, 0x3C, 0x80,
    ];
    let keyframe = [0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88];
    let aac = [0xAF, 0, 0x12, 0x10];
    [
        (TagKind::Video, &avc[..]),
        (TagKind::Audio, &aac[..]),
        (TagKind::Video, &keyframe[..]),
    ]
    .into_iter()
    .filter_map(|(kind, data)| MediaTag::new(kind, 0, Bytes::copy_from_slice(data)).ok())
    .collect()
}

/// Lets panics raised inside rml_rtmp's chunk deserializer reach the guard's `catch_unwind`
/// (see the module comment); every other panic aborts as libFuzzer's hook does.
fn contain_chunk_deserializer_panics() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let contained = info
            .location()
            .is_some_and(|at| at.file().contains("rml_rtmp") && at.file().contains("chunk_io"));
        if !contained {
            abort(info);
        }
    }));
}

fuzz_target!(init: contain_chunk_deserializer_panics(), |data: &[u8]| {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let mut connection = Connection::new();
    for read in common::reads(mode, stream) {
        if connection.read(read).is_err() {
            break;
        }
    }
    std::hint::black_box(connection.written);
});
