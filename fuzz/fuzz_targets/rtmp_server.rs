//! The RTMP server side fed raw bytes from a peer, split into reads at fuzzer-chosen points, in
//! the order `server/src/rtmp/connection.rs` handles them: rml_rtmp's handshake, then for each
//! read the server's `ChunkGuard` first and rml_rtmp's `ServerSession` second. Every request
//! the session raises is accepted (connect to `live`, publish, play) as the connection does once
//! the policy allows it (a granted publish also lifts the guard's ceiling for media); media goes
//! into a real `StreamHub` publisher (classification, facts, GOP cache), and a player is sent
//! metadata and tags. Errors end the input, as they end a connection; only panics, timeouts and
//! running out of memory are failures.
//!
//! One exception: the guard runs rml_rtmp's chunk deserializer under `catch_unwind` and turns
//! its panics (unchecked arithmetic on inconsistent chunk headers, which overflow checks make
//! panic in this build) into a refusal, before the session sees those bytes. libFuzzer's panic
//! hook would abort on them anyway, so this target's hook lets panics raised inside
//! rml_rtmp's `chunk_io` through to that `catch_unwind`; any panic that is not caught there
//! still aborts (libfuzzer-sys aborts on a panic leaving the target).
#![no_main]

mod common;

use bookmygig_api::GigId;
use bookmygig_media::metadata::StreamFacts;
use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::MediaTag;
use bookmygig_server::live::StreamHub;
use bookmygig_server::live::hub::Publisher;
use bookmygig_server::rtmp::connection::MAX_CHUNK_SIZE;
use bookmygig_server::rtmp::guard::ChunkGuard;
use bookmygig_server::rtmp::media;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use rml_rtmp::time::RtmpTimestamp;

/// The application the server serves (`connection.rs`'s `APP`).
const APP: &str = "live";

enum Role {
    Idle,
    Publishing(Publisher),
    Playing { stream_id: u32 },
}

struct Connection {
    handshake: Option<Handshake>,
    session: Option<ServerSession>,
    guard: ChunkGuard,
    role: Role,
    hub: std::sync::Arc<StreamHub>,
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
            handshake: Some(Handshake::new(PeerType::Server)),
            session: None,
            guard: ChunkGuard::new(MAX_CHUNK_SIZE),
            role: Role::Idle,
            hub: StreamHub::new(),
            written: 0,
        }
    }

    fn read(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        if let Some(handshake) = &mut self.handshake {
            match handshake.process_bytes(bytes)? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.written += response_bytes.len();
                    return Ok(());
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    self.written += response_bytes.len();
                    self.handshake = None;
                    let (session, results) = ServerSession::new(ServerSessionConfig::new())?;
                    self.session = Some(session);
                    self.handle_results(results)?;
                    return self.handle_input(&remaining_bytes);
                }
            }
        }
        self.handle_input(bytes)?;
        // A player gets a tag between reads, as the connection interleaves them.
        if let Role::Playing { stream_id } = self.role {
            let session = self.session()?;
            let packet = session.send_video_data(
                stream_id,
                Bytes::from_static(&[0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41]),
                RtmpTimestamp::new(40),
                true,
            )?;
            self.written += packet.bytes.len();
        }
        Ok(())
    }

    fn session(&mut self) -> Result<&mut ServerSession, Closed> {
        self.session.as_mut().ok_or(Closed)
    }

    /// `Connection::handle_input`: the guard, then the session.
    fn handle_input(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.guard.inspect(bytes)?;
        let results = self.session()?.handle_input(bytes)?;
        self.handle_results(results)
    }

    fn handle_results(&mut self, results: Vec<ServerSessionResult>) -> Result<(), Closed> {
        let mut queue = std::collections::VecDeque::from(results);
        while let Some(result) = queue.pop_front() {
            match result {
                ServerSessionResult::OutboundResponse(packet) => {
                    self.written += packet.bytes.len();
                }
                ServerSessionResult::RaisedEvent(event) => queue.extend(self.handle_event(event)?),
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    fn handle_event(
        &mut self,
        event: ServerSessionEvent,
    ) -> Result<Vec<ServerSessionResult>, Closed> {
        match event {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                if app_name != APP {
                    let _ = self.session()?.reject_request(
                        request_id,
                        "NetConnection.Connect.Rejected",
                        "unknown application",
                    );
                    return Err(Closed);
                }
                Ok(self.session()?.accept_request(request_id)?)
            }
            ServerSessionEvent::PublishStreamRequested { request_id, .. } => {
                if !matches!(self.role, Role::Idle) {
                    return Err(Closed);
                }
                let results = self.session()?.accept_request(request_id)?;
                let publisher = self.hub.start_publishing(GigId::from_bytes([7; 16]))?;
                self.guard.allow_media();
                self.role = Role::Publishing(publisher);
                Ok(results)
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.role = Role::Idle;
                Ok(Vec::new())
            }
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                self.publish(TagKind::Script, 0, media::on_metadata(&metadata))?;
                Ok(Vec::new())
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => {
                self.publish(TagKind::Video, timestamp.value, data)?;
                Ok(Vec::new())
            }
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => {
                self.publish(TagKind::Audio, timestamp.value, data)?;
                Ok(Vec::new())
            }
            ServerSessionEvent::PlayStreamRequested {
                request_id,
                stream_id,
                ..
            } => {
                if !matches!(self.role, Role::Idle) {
                    return Err(Closed);
                }
                let mut results = self.session()?.accept_request(request_id)?;
                let session = self.session()?;
                let metadata = media::player_metadata(&player_facts());
                results.push(ServerSessionResult::OutboundResponse(
                    session.send_metadata(stream_id, &metadata)?,
                ));
                for tag in start_tags() {
                    results.push(ServerSessionResult::OutboundResponse(media::media_packet(
                        session, stream_id, &tag,
                    )?));
                }
                self.role = Role::Playing { stream_id };
                Ok(results)
            }
            ServerSessionEvent::PlayStreamFinished { .. } => Err(Closed),
            _ => Ok(Vec::new()),
        }
    }

    fn publish(&mut self, kind: TagKind, timestamp_ms: u32, data: Bytes) -> Result<(), Closed> {
        let Role::Publishing(publisher) = &self.role else {
            return Err(Closed);
        };
        publisher.push(MediaTag::new(kind, timestamp_ms, data)?);
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
