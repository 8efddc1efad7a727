//! The RTMP session of one connection, sans-IO: the bytes the peer sent go in; what to send back
//! and what the peer asks for (publish, play, media, stop) come out. It wraps rml_rtmp's
//! `Handshake` and `ServerSession` with our checks: the [`ChunkGuard`] ahead of the session
//! (chunk size, AMF, bytes per message), the one application we serve, one role per connection,
//! no media before a granted publish. No sockets, no clocks, no store: the connection feeds it
//! bytes, writes what it says, and answers its requests after asking [`super::policy`].
//!
//! The order of everything a peer's bytes cause is kept: what the session answered goes out in
//! the order rml_rtmp produced it, and what accepting a request adds goes out after it.

use std::collections::VecDeque;

use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::MediaTag;
use bookmygig_media::metadata::StreamFacts;
use bytes::{Bytes, BytesMut};
use rml_rtmp::chunk_io::Packet;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};

use super::chunks;
use super::guard::{ChunkGuard, GuardError};
use super::media;

/// Largest chunk size a peer may announce (OBS uses 4 KiB; the protocol allows 2 GiB).
pub const MAX_CHUNK_SIZE: u32 = 1 << 20;
/// The only RTMP application we serve.
const APP: &str = "live";

/// Why the session cannot go on. Its text is logged; it never contains a stream key or a token.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The peer's handshake is not RTMP's (a wrong version byte, a malformed packet).
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// rml_rtmp refused the peer's messages, or the peer broke our rules (media before a
    /// granted publish, a second publish or play on one connection).
    #[error("malformed RTMP: {0}")]
    Protocol(String),
    /// The [`ChunkGuard`] refused the bytes before the session saw them.
    #[error("{0}")]
    Guard(#[from] GuardError),
}

/// What the connection has to do next, in order.
#[derive(Debug)]
pub enum Output {
    /// Bytes for the peer.
    Send(Vec<u8>),
    /// The peer connected to an application we do not serve: send `farewell` (the rejection),
    /// then close.
    UnknownApp {
        /// The application the peer asked for.
        app: String,
        /// The rejection's bytes.
        farewell: Vec<u8>,
    },
    /// The peer asks to publish; answer with [`Session::accept_publish`] or
    /// [`Session::reject`].
    PublishRequested {
        /// What rml_rtmp answers the request by.
        request_id: u32,
        /// The key the peer published to (a secret: never logged).
        stream_key: String,
    },
    /// The peer asks to play; answer with [`Session::accept_play`] or [`Session::reject`].
    PlayRequested {
        /// What rml_rtmp answers the request by.
        request_id: u32,
        /// The path the peer plays, `{gig_id}?token=…` (a secret: never logged).
        stream_key: String,
        /// The message stream the media is to go out on.
        stream_id: u32,
    },
    /// Media (or announced metadata, as an `onMetaData` script tag) from the publisher.
    Media(MediaTag),
    /// The publisher stopped publishing; the connection is neither publishing nor playing now.
    PublishFinished,
    /// The player stopped playing.
    PlayFinished,
}

/// What one step of the handshake produced.
#[derive(Debug)]
pub struct HandshakeStep {
    /// Bytes for the peer (possibly none).
    pub reply: Vec<u8>,
    /// Whether the handshake is over: from now on the peer's bytes go to [`Session::receive`].
    pub done: bool,
}

/// Where the session is in the protocol (each boxed: both are large, and of unlike sizes).
enum Stage {
    /// Exchanging C0-C2 / S0-S2.
    Handshaking(Box<Handshake>),
    /// Exchanging chunks.
    Established(Box<ServerSession>),
}

/// What the connection has been granted; the rules on requests and media follow from it.
enum Activity {
    /// Neither publishing nor playing.
    Idle,
    /// A publish was accepted.
    Publishing,
    /// A play was accepted, on this message stream.
    Playing { stream_id: u32 },
}

/// One connection's RTMP session.
pub struct Session {
    stage: Stage,
    /// Checks every chunk ahead of rml_rtmp's session.
    guard: ChunkGuard,
    /// rml_rtmp's results not yet turned into [`Output`]s, in order.
    queue: VecDeque<ServerSessionResult>,
    /// Chunk bytes that came with the handshake's last packet: fed to the session once what
    /// it answered on starting is out.
    leftover: Vec<u8>,
    activity: Activity,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session waiting for the peer's C0+C1, with chunk sizes up to [`MAX_CHUNK_SIZE`].
    pub fn new() -> Self {
        Session {
            stage: Stage::Handshaking(Box::new(Handshake::new(PeerType::Server))),
            guard: ChunkGuard::new(MAX_CHUNK_SIZE),
            queue: VecDeque::new(),
            leftover: Vec::new(),
            activity: Activity::Idle,
        }
    }

    /// Takes handshake bytes from the peer. Once it is done, what came after the handshake
    /// and what the session says on starting are waiting in [`Session::next_output`].
    ///
    /// # Errors
    /// A malformed handshake (a version byte other than 3, …), or handshake bytes after it.
    pub fn handshake(&mut self, bytes: &[u8]) -> Result<HandshakeStep, SessionError> {
        let Stage::Handshaking(handshake) = &mut self.stage else {
            return Err(SessionError::Handshake("already completed".into()));
        };
        match handshake
            .process_bytes(bytes)
            .map_err(|e| SessionError::Handshake(e.to_string()))?
        {
            HandshakeProcessResult::InProgress { response_bytes } => Ok(HandshakeStep {
                reply: response_bytes,
                done: false,
            }),
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                let (session, results) = ServerSession::new(server_config()).map_err(protocol)?;
                self.stage = Stage::Established(Box::new(session));
                self.queue.extend(results);
                self.leftover = remaining_bytes;
                Ok(HandshakeStep {
                    reply: response_bytes,
                    done: true,
                })
            }
        }
    }

    /// Takes chunk bytes from the peer (after the handshake): the guard checks them, then
    /// rml_rtmp's session reads them. What they cause waits in [`Session::next_output`]; take
    /// all of it (and what came with the handshake) before the next bytes.
    ///
    /// # Errors
    /// The guard's refusal, or rml_rtmp's.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), SessionError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.guard.inspect(bytes)?;
        let results = established(&mut self.stage)?
            .handle_input(bytes)
            .map_err(protocol)?;
        self.queue.extend(results);
        Ok(())
    }

    /// What to do next; `None` when the session waits for the peer's next bytes. Answers the
    /// session can give alone (accepting a connect to our application) it gives itself.
    ///
    /// # Errors
    /// The peer broke a rule (see [`SessionError`]).
    pub fn next_output(&mut self) -> Result<Option<Output>, SessionError> {
        loop {
            let Some(result) = self.queue.pop_front() else {
                if self.leftover.is_empty() {
                    return Ok(None);
                }
                let leftover = std::mem::take(&mut self.leftover);
                self.receive(&leftover)?;
                continue;
            };
            let output = match result {
                ServerSessionResult::OutboundResponse(packet) => Some(Output::Send(packet.bytes)),
                ServerSessionResult::RaisedEvent(event) => self.on_event(event)?,
                ServerSessionResult::UnhandleableMessageReceived(_) => None,
            };
            if output.is_some() {
                return Ok(output);
            }
        }
    }

    /// Turns one of rml_rtmp's events into an output, or handles it here.
    fn on_event(&mut self, event: ServerSessionEvent) -> Result<Option<Output>, SessionError> {
        match event {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                if app_name != APP {
                    let farewell = self.reject(
                        request_id,
                        "NetConnection.Connect.Rejected",
                        "unknown application; use rtmp://HOST:PORT/live",
                    )?;
                    return Ok(Some(Output::UnknownApp {
                        app: app_name,
                        farewell,
                    }));
                }
                let results = established(&mut self.stage)?
                    .accept_request(request_id)
                    .map_err(protocol)?;
                self.queue.extend(results);
                Ok(None)
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                stream_key,
                ..
            } => {
                self.require_idle("publish on a busy connection")?;
                Ok(Some(Output::PublishRequested {
                    request_id,
                    stream_key,
                }))
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.activity = Activity::Idle;
                Ok(Some(Output::PublishFinished))
            }
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                self.media(TagKind::Script, 0, media::on_metadata(&metadata))
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => self.media(TagKind::Video, timestamp.value, data),
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => self.media(TagKind::Audio, timestamp.value, data),
            ServerSessionEvent::PlayStreamRequested {
                request_id,
                stream_key,
                stream_id,
                ..
            } => {
                self.require_idle("play on a busy connection")?;
                Ok(Some(Output::PlayRequested {
                    request_id,
                    stream_key,
                    stream_id,
                }))
            }
            ServerSessionEvent::PlayStreamFinished { .. } => Ok(Some(Output::PlayFinished)),
            _ => Ok(None),
        }
    }

    fn require_idle(&self, otherwise: &str) -> Result<(), SessionError> {
        match self.activity {
            Activity::Idle => Ok(()),
            _ => Err(SessionError::Protocol(otherwise.into())),
        }
    }

    /// Media from the peer, which must be publishing.
    fn media(
        &self,
        kind: TagKind,
        timestamp_ms: u32,
        data: Bytes,
    ) -> Result<Option<Output>, SessionError> {
        if !matches!(self.activity, Activity::Publishing) {
            return Err(SessionError::Protocol("media before publish".into()));
        }
        let tag = MediaTag::new(kind, timestamp_ms, data)
            .map_err(|e| SessionError::Protocol(e.to_string()))?;
        Ok(Some(Output::Media(tag)))
    }

    /// Grants a publish request: the answer goes out after what is already waiting, and the
    /// guard lets media messages through from now on.
    ///
    /// # Errors
    /// rml_rtmp's.
    pub fn accept_publish(&mut self, request_id: u32) -> Result<(), SessionError> {
        let results = established(&mut self.stage)?
            .accept_request(request_id)
            .map_err(protocol)?;
        self.queue.extend(results);
        self.guard.allow_media();
        self.activity = Activity::Publishing;
        Ok(())
    }

    /// Grants a play request for `stream_id`; the answer goes out after what is already
    /// waiting. Follow with [`Session::start_playback`].
    ///
    /// # Errors
    /// rml_rtmp's.
    pub fn accept_play(&mut self, request_id: u32, stream_id: u32) -> Result<(), SessionError> {
        let results = established(&mut self.stage)?
            .accept_request(request_id)
            .map_err(protocol)?;
        self.queue.extend(results);
        self.activity = Activity::Playing { stream_id };
        Ok(())
    }

    /// Queues what a player gets first: the stream's metadata from `facts`, then the `start`
    /// tags (sequence headers and the current GOP; metadata tags among them are skipped, the
    /// metadata having just been sent), as [`chunks`] that need no earlier header, like the
    /// segments that follow.
    ///
    /// # Errors
    /// Not playing.
    pub fn start_playback(
        &mut self,
        facts: &StreamFacts,
        start: &[MediaTag],
    ) -> Result<(), SessionError> {
        let stream_id = self.playing()?;
        let mut bytes = BytesMut::new();
        let timestamp = start.first().map_or(0, |tag| tag.timestamp_ms);
        chunks::append_metadata(
            &mut bytes,
            &media::player_on_metadata(facts),
            timestamp,
            stream_id,
        );
        for tag in start.iter().filter(|t| !t.metadata) {
            chunks::append_tag(&mut bytes, tag, stream_id, &mut Bytes::new);
        }
        let packet = Packet {
            bytes: bytes.into(),
            can_be_dropped: false,
        };
        self.queue
            .push_back(ServerSessionResult::OutboundResponse(packet));
        Ok(())
    }

    /// The message stream a granted play goes out on; `None` when not playing.
    pub fn playing_stream_id(&self) -> Option<u32> {
        self.playing().ok()
    }

    /// The bytes telling the player its stream has ended; `None` when not playing.
    ///
    /// # Errors
    /// rml_rtmp's.
    pub fn finish_playing(&mut self) -> Result<Option<Vec<u8>>, SessionError> {
        let Activity::Playing { stream_id } = self.activity else {
            return Ok(None);
        };
        let packet = established(&mut self.stage)?
            .finish_playing(stream_id)
            .map_err(protocol)?;
        Ok(Some(packet.bytes))
    }

    /// Refuses a request, saying why (`code`, `description`): the bytes to send before
    /// closing, so that the peer learns it.
    ///
    /// # Errors
    /// rml_rtmp's.
    pub fn reject(
        &mut self,
        request_id: u32,
        code: &str,
        description: &str,
    ) -> Result<Vec<u8>, SessionError> {
        let results = established(&mut self.stage)?
            .reject_request(request_id, code, description)
            .map_err(protocol)?;
        let mut farewell = Vec::new();
        for result in results {
            if let ServerSessionResult::OutboundResponse(packet) = result {
                farewell.extend_from_slice(&packet.bytes);
            }
        }
        Ok(farewell)
    }

    /// The message stream of the accepted play.
    fn playing(&self) -> Result<u32, SessionError> {
        match self.activity {
            Activity::Playing { stream_id } => Ok(stream_id),
            _ => Err(SessionError::Protocol("not playing".into())),
        }
    }
}

/// rml_rtmp's configuration: its chunk size is the one [`chunks`] writes in.
fn server_config() -> ServerSessionConfig {
    let mut config = ServerSessionConfig::new();
    config.chunk_size = chunks::CHUNK_SIZE;
    config
}

/// rml_rtmp's session, once the handshake is over.
fn established(stage: &mut Stage) -> Result<&mut ServerSession, SessionError> {
    match stage {
        Stage::Established(session) => Ok(session),
        Stage::Handshaking(_) => Err(SessionError::Protocol("no session".into())),
    }
}

/// rml_rtmp's errors and those of [`media`]'s packets.
fn protocol(error: impl ToString) -> SessionError {
    SessionError::Protocol(error.to_string())
}

#[cfg(test)]
mod tests {
    //! The session fed real RTMP: the client side is rml_rtmp's own `Handshake` and
    //! `ClientSession`, so every byte vector here is what a real client sends.

    use rml_rtmp::sessions::{
        ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
        PublishRequestType,
    };
    use rml_rtmp::time::RtmpTimestamp;

    use super::*;

    /// Size of C1, S1, S2 and C2.
    const HANDSHAKE_PACKET: usize = 1536;

    /// A client that has done the handshake with `server`, the server's opening packets read.
    struct Client {
        session: ClientSession,
        /// What the client's session raised, in order.
        events: Vec<ClientSessionEvent>,
    }

    impl Client {
        /// Shakes hands with `server`; panics unless the handshake completes.
        fn handshake(server: &mut Session) -> Client {
            let mut handshake = Handshake::new(PeerType::Client);
            let c0c1 = handshake.generate_outbound_p0_and_p1().unwrap();
            let s0s1s2 = server.handshake(&c0c1).unwrap();
            assert!(!s0s1s2.done);
            let HandshakeProcessResult::Completed { response_bytes, .. } =
                handshake.process_bytes(&s0s1s2.reply).unwrap()
            else {
                panic!("the client's handshake did not complete");
            };
            assert!(server.handshake(&response_bytes).unwrap().done);
            let (session, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
            let mut client = Client {
                session,
                events: Vec::new(),
            };
            let outputs = client.converse(server, Vec::new()).unwrap();
            assert!(outputs.is_empty(), "{outputs:?}");
            client
        }

        /// Sends `bytes` to `server` and passes bytes back and forth until neither side has
        /// more to say; returns what the server asked of its connection (all but `Send`).
        fn converse(
            &mut self,
            server: &mut Session,
            bytes: Vec<u8>,
        ) -> Result<Vec<Output>, SessionError> {
            let mut outputs = Vec::new();
            let mut to_server = bytes;
            loop {
                server.receive(&to_server)?;
                let mut to_client = Vec::new();
                while let Some(output) = server.next_output()? {
                    match output {
                        Output::Send(bytes) => to_client.extend(bytes),
                        other => outputs.push(other),
                    }
                }
                to_server = self.hear(&to_client);
                if to_server.is_empty() {
                    return Ok(outputs);
                }
            }
        }

        /// Feeds the server's bytes to the client session; returns what it answers.
        fn hear(&mut self, bytes: &[u8]) -> Vec<u8> {
            let mut answer = Vec::new();
            if bytes.is_empty() {
                return answer;
            }
            for result in self.session.handle_input(bytes).unwrap() {
                self.take(result, &mut answer);
            }
            answer
        }

        fn take(&mut self, result: ClientSessionResult, answer: &mut Vec<u8>) {
            match result {
                ClientSessionResult::OutboundResponse(packet) => answer.extend(packet.bytes),
                ClientSessionResult::RaisedEvent(event) => self.events.push(event),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }

        /// Bytes of one of the client session's requests.
        fn request(
            &mut self,
            make: impl FnOnce(
                &mut ClientSession,
            )
                -> Result<ClientSessionResult, rml_rtmp::sessions::ClientSessionError>,
        ) -> Vec<u8> {
            let mut bytes = Vec::new();
            let made = make(&mut self.session).unwrap();
            self.take(made, &mut bytes);
            bytes
        }

        /// Connects to `app`; returns what the server asked of its connection.
        fn connect(&mut self, server: &mut Session, app: &str) -> Vec<Output> {
            let connect = self.request(|c| c.request_connection(app.into()));
            self.converse(server, connect).unwrap()
        }

        /// A client connected to `live`.
        fn connected(server: &mut Session) -> Client {
            let mut client = Client::handshake(server);
            let outputs = client.connect(server, "live");
            assert!(outputs.is_empty(), "{outputs:?}");
            assert!(
                client
                    .events
                    .iter()
                    .any(|e| matches!(e, ClientSessionEvent::ConnectionRequestAccepted)),
                "{:?}",
                client.events
            );
            client
        }
    }

    #[test]
    fn a_client_handshake_gets_s0_s1_s2_then_completes_on_c2() {
        let mut server = Session::new();
        let mut client = Handshake::new(PeerType::Client);
        let c0c1 = client.generate_outbound_p0_and_p1().unwrap();
        assert_eq!(c0c1.len(), 1 + HANDSHAKE_PACKET);

        let step = server.handshake(&c0c1).unwrap();
        assert!(!step.done);
        assert_eq!(step.reply.len(), 1 + 2 * HANDSHAKE_PACKET, "S0+S1+S2");
        assert_eq!(step.reply[0], 3, "S0: RTMP version 3");

        let HandshakeProcessResult::Completed { response_bytes, .. } =
            client.process_bytes(&step.reply).unwrap()
        else {
            panic!("the client's handshake did not complete");
        };
        assert_eq!(response_bytes.len(), HANDSHAKE_PACKET, "C2");
        let step = server.handshake(&response_bytes).unwrap();
        assert!(step.done);
        assert!(step.reply.is_empty());
        // The session opens with its own packets (chunk size, window, stream begin).
        assert!(matches!(server.next_output(), Ok(Some(Output::Send(_)))));
    }

    #[test]
    fn a_handshake_split_into_single_bytes_completes_too() {
        let mut server = Session::new();
        let mut client = Handshake::new(PeerType::Client);
        let mut reply = Vec::new();
        for byte in client.generate_outbound_p0_and_p1().unwrap() {
            reply.extend(server.handshake(&[byte]).unwrap().reply);
        }
        assert_eq!(reply.len(), 1 + 2 * HANDSHAKE_PACKET);
        let HandshakeProcessResult::Completed { response_bytes, .. } =
            client.process_bytes(&reply).unwrap()
        else {
            panic!("the client's handshake did not complete");
        };
        let (last, rest) = response_bytes.split_last().unwrap();
        for byte in rest {
            assert!(!server.handshake(&[*byte]).unwrap().done);
        }
        assert!(server.handshake(&[*last]).unwrap().done);
    }

    #[test]
    fn a_wrong_rtmp_version_byte_is_refused() {
        let mut client = Handshake::new(PeerType::Client);
        let mut c0c1 = client.generate_outbound_p0_and_p1().unwrap();
        for version in [0, 6, 0x47] {
            c0c1[0] = version;
            assert!(
                matches!(
                    Session::new().handshake(&c0c1),
                    Err(SessionError::Handshake(_))
                ),
                "version {version}"
            );
        }
    }

    #[test]
    fn chunks_before_the_handshake_is_done_are_refused() {
        let mut server = Session::new();
        assert!(matches!(
            server.receive(&[0x03, 0, 0, 0]),
            Err(SessionError::Protocol(_))
        ));
    }

    #[test]
    fn connect_then_publish_asks_to_publish_with_the_stream_key() {
        let mut server = Session::new();
        let mut client = Client::connected(&mut server);
        let publish =
            client.request(|c| c.request_publishing("sk_secret".into(), PublishRequestType::Live));
        let outputs = client.converse(&mut server, publish).unwrap();
        let [Output::PublishRequested { stream_key, .. }] = outputs.as_slice() else {
            panic!("{outputs:?}");
        };
        assert_eq!(stream_key, "sk_secret");
    }

    #[test]
    fn an_accepted_publish_lets_media_through_as_tags() {
        let mut server = Session::new();
        let mut client = Client::connected(&mut server);
        let publish =
            client.request(|c| c.request_publishing("key".into(), PublishRequestType::Live));
        let outputs = client.converse(&mut server, publish).unwrap();
        let [Output::PublishRequested { request_id, .. }] = outputs.as_slice() else {
            panic!("{outputs:?}");
        };
        server.accept_publish(*request_id).unwrap();
        let outputs = client.converse(&mut server, Vec::new()).unwrap();
        assert!(outputs.is_empty(), "{outputs:?}");
        assert!(
            client
                .events
                .iter()
                .any(|e| matches!(e, ClientSessionEvent::PublishRequestAccepted)),
            "{:?}",
            client.events
        );

        let keyframe = Bytes::from_static(&[0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88]);
        let video = client
            .request(|c| c.publish_video_data(keyframe.clone(), RtmpTimestamp::new(40), false));
        let outputs = client.converse(&mut server, video).unwrap();
        let [Output::Media(tag)] = outputs.as_slice() else {
            panic!("{outputs:?}");
        };
        assert_eq!(tag.kind, TagKind::Video);
        assert_eq!(tag.timestamp_ms, 40);
        assert_eq!(tag.payload, keyframe);
        assert!(!tag.droppable(), "a keyframe");

        // A second publish on the same connection ends it.
        let mut again = ChunkedCommand::publish("key2");
        let refused = client.converse(&mut server, again.bytes());
        assert!(
            matches!(&refused, Err(SessionError::Protocol(why)) if why.contains("busy")),
            "{refused:?}"
        );
    }

    #[test]
    fn connect_then_play_asks_to_play_the_path_on_a_stream() {
        let mut server = Session::new();
        let mut client = Client::connected(&mut server);
        let path = "0192f3a4-0000-7000-8000-000000000000?token=t0k3n";
        let play = client.request(|c| c.request_playback(path.into()));
        let outputs = client.converse(&mut server, play).unwrap();
        let [
            Output::PlayRequested {
                request_id,
                stream_key,
                stream_id,
            },
        ] = outputs.as_slice()
        else {
            panic!("{outputs:?}");
        };
        assert_eq!(stream_key, path);

        // Granted: the player gets the acceptance, then the stream's metadata.
        server.accept_play(*request_id, *stream_id).unwrap();
        let facts = StreamFacts {
            video_codec: Some("h264".into()),
            width: Some(1280),
            height: Some(720),
            ..StreamFacts::default()
        };
        server.start_playback(&facts, &[]).unwrap();
        let outputs = client.converse(&mut server, Vec::new()).unwrap();
        assert!(outputs.is_empty(), "{outputs:?}");
        let metadata = client.events.iter().find_map(|e| match e {
            ClientSessionEvent::StreamMetadataReceived { metadata } => Some(metadata),
            _ => None,
        });
        assert_eq!(metadata.and_then(|m| m.video_width), Some(1280));
        assert!(
            client
                .events
                .iter()
                .any(|e| matches!(e, ClientSessionEvent::PlaybackRequestAccepted))
        );
        assert!(server.finish_playing().unwrap().is_some());
    }

    #[test]
    fn a_refused_request_says_why_to_the_client() {
        let mut server = Session::new();
        let mut client = Client::connected(&mut server);
        let publish =
            client.request(|c| c.request_publishing("wrong".into(), PublishRequestType::Live));
        let outputs = client.converse(&mut server, publish).unwrap();
        let [Output::PublishRequested { request_id, .. }] = outputs.as_slice() else {
            panic!("{outputs:?}");
        };
        let farewell = server
            .reject(
                *request_id,
                "NetStream.Publish.BadName",
                "unknown stream key",
            )
            .unwrap();
        assert!(!farewell.is_empty());
        client.hear(&farewell);
        // rml_rtmp's client reports the status it does not know as an unknown result.
        let heard = format!("{:?}", client.events);
        assert!(heard.contains("NetStream.Publish.BadName"), "{heard}");
        assert!(heard.contains("unknown stream key"), "{heard}");
    }

    #[test]
    fn another_application_is_refused_with_a_farewell() {
        let mut server = Session::new();
        let mut client = Client::handshake(&mut server);
        let outputs = client.connect(&mut server, "admin");
        let [Output::UnknownApp { app, farewell }] = outputs.as_slice() else {
            panic!("{outputs:?}");
        };
        assert_eq!(app, "admin");
        client.hear(farewell);
        assert!(
            client
                .events
                .iter()
                .any(|e| matches!(e, ClientSessionEvent::ConnectionRequestRejected { .. })),
            "{:?}",
            client.events
        );
    }

    #[test]
    fn media_before_a_granted_publish_never_comes_out() {
        let mut server = Session::new();
        let mut client = Client::connected(&mut server);
        let publish =
            client.request(|c| c.request_publishing("key".into(), PublishRequestType::Live));
        let outputs = client.converse(&mut server, publish).unwrap();
        assert!(matches!(
            outputs.as_slice(),
            [Output::PublishRequested { .. }]
        ));
        // A keyframe on the publish's message stream (1), not granted yet.
        let mut video = vec![0x06, 0, 0, 0x28, 0, 0, 11, 9, 1, 0, 0, 0];
        video.extend_from_slice(&[0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88]);
        let outcome = server.receive(&video).and_then(|()| {
            let mut outputs = Vec::new();
            while let Some(output) = server.next_output()? {
                outputs.push(output);
            }
            Ok(outputs)
        });
        assert!(
            !matches!(&outcome, Ok(outputs) if outputs.iter().any(|o| matches!(o, Output::Media(_)))),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_chunk_size_over_the_ceiling_ends_the_session() {
        let mut server = Session::new();
        let mut client = Client::connected(&mut server);
        let set_chunk_size = |size: u32| {
            [
                &[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0][..],
                &size.to_be_bytes(),
            ]
            .concat()
        };
        let refused = client.converse(&mut server, set_chunk_size(MAX_CHUNK_SIZE + 1));
        assert!(
            matches!(
                refused,
                Err(SessionError::Guard(GuardError::ChunkTooLarge { size, max }))
                    if size == MAX_CHUNK_SIZE + 1 && max == MAX_CHUNK_SIZE
            ),
            "{refused:?}"
        );
        // The ceiling itself is allowed.
        let mut server = Session::new();
        let mut client = Client::connected(&mut server);
        client
            .converse(&mut server, set_chunk_size(MAX_CHUNK_SIZE))
            .unwrap();
    }

    #[test]
    fn garbage_after_the_handshake_ends_the_session_without_a_panic() {
        // xorshift: the same garbage on every run.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let garbage: Vec<u8> = std::iter::repeat_with(|| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .take(1 << 20)
        .collect();
        let mut server = Session::new();
        let _client = Client::connected(&mut server);
        let ended = garbage.chunks(4096).find_map(|read| {
            server
                .receive(read)
                .and_then(|()| while_output(&mut server))
                .err()
        });
        assert!(ended.is_some(), "a megabyte of garbage was taken");
    }

    #[test]
    fn a_message_that_never_ends_is_cut_off_before_publish() {
        let mut server = Session::new();
        let _client = Client::connected(&mut server);
        // Chunks of 64 KiB (whatever size the client chose before), then a video message
        // claiming 16 MiB, then chunks of it for ever.
        let mut set_chunk_size = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0];
        set_chunk_size.extend_from_slice(&(64 * 1024u32).to_be_bytes());
        server.receive(&set_chunk_size).unwrap();
        let mut refused = server.receive(&[0x06, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0]);
        let mut chunk = vec![0u8; 64 * 1024];
        chunk.push(0xC6);
        let mut sent = 0usize;
        while refused.is_ok() && sent < 4 << 20 {
            refused = server.receive(&chunk);
            sent += chunk.len();
        }
        assert!(
            matches!(
                refused,
                Err(SessionError::Guard(GuardError::MessageTooLarge { .. }))
            ),
            "{refused:?}"
        );
    }

    /// Takes every output, ignoring them; an error ends it.
    fn while_output(server: &mut Session) -> Result<(), SessionError> {
        while server.next_output()?.is_some() {}
        Ok(())
    }

    /// An AMF0 `publish` command for message stream 1 on chunk stream 8, hand-built because
    /// rml_rtmp's client will not send a second one.
    struct ChunkedCommand(Vec<u8>);

    impl ChunkedCommand {
        fn publish(key: &str) -> Self {
            use bookmygig_media::amf0::{Amf0Value, encode};
            let body = encode(&[
                Amf0Value::String("publish".into()),
                Amf0Value::Number(9.0),
                Amf0Value::Null,
                Amf0Value::String(key.into()),
                Amf0Value::String("live".into()),
            ]);
            let len = u32::try_from(body.len()).unwrap().to_be_bytes();
            let mut bytes = vec![0x08, 0, 0, 0, len[1], len[2], len[3], 20, 1, 0, 0, 0];
            bytes.extend(body);
            ChunkedCommand(bytes)
        }

        fn bytes(&mut self) -> Vec<u8> {
            std::mem::take(&mut self.0)
        }
    }
}
