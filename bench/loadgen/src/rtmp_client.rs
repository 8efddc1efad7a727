//! An RTMP client connection on rml_rtmp's `Handshake` and `ClientSession`, shared by the
//! publisher and the RTMP viewers: connect and shake hands, write what the session says, and
//! send a request until the server answers it.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::publish::RtmpTarget;

/// How long connecting, the handshake and each request may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// An RTMP client connection: socket halves and rml_rtmp's session.
pub struct RtmpConnection {
    /// The socket's read side.
    pub reader: OwnedReadHalf,
    /// The socket's write side.
    pub writer: OwnedWriteHalf,
    /// rml_rtmp's client session.
    pub session: ClientSession,
    /// Where reads land.
    pub buffer: Vec<u8>,
}

impl RtmpConnection {
    /// Connects, shakes hands and connects to the target's application; ready for a publish
    /// or play request.
    pub async fn open(target: &RtmpTarget) -> anyhow::Result<Self> {
        let socket = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(&target.addr))
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", target.addr))?
            .with_context(|| format!("cannot connect to rtmp://{}", target.addr))?;
        socket.set_nodelay(true)?;
        let (mut reader, mut writer) = socket.into_split();
        let mut handshake = Handshake::new(PeerType::Client);
        writer
            .write_all(&handshake.generate_outbound_p0_and_p1()?)
            .await?;
        let mut buffer = vec![0u8; 64 * 1024];
        let leftover = loop {
            let read = tokio::time::timeout(STEP_TIMEOUT, reader.read(&mut buffer))
                .await
                .map_err(|_| anyhow!("RTMP handshake timed out"))??;
            if read == 0 {
                bail!("the server closed the connection during the RTMP handshake");
            }
            match handshake.process_bytes(&buffer[..read])? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    writer.write_all(&response_bytes).await?;
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    writer.write_all(&response_bytes).await?;
                    break remaining_bytes;
                }
            }
        };
        let mut config = ClientSessionConfig::new();
        config.tc_url = Some(format!("rtmp://{}/{}", target.addr, target.app));
        let (session, results) = ClientSession::new(config)?;
        let mut connection = Self {
            reader,
            writer,
            session,
            buffer,
        };
        connection.handle(results).await?;
        let results = connection.session.handle_input(&leftover)?;
        connection.handle(results).await?;
        let request = connection.session.request_connection(target.app.clone())?;
        connection
            .request(request, "connect", |e| {
                matches!(e, ClientSessionEvent::ConnectionRequestAccepted)
            })
            .await?;
        Ok(connection)
    }

    /// Writes outbound packets; returns the events raised.
    pub async fn handle(
        &mut self,
        results: Vec<ClientSessionResult>,
    ) -> anyhow::Result<Vec<ClientSessionEvent>> {
        let mut events = Vec::new();
        for result in results {
            match result {
                ClientSessionResult::OutboundResponse(packet) => {
                    self.writer.write_all(&packet.bytes).await?;
                }
                ClientSessionResult::RaisedEvent(event) => events.push(event),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(events)
    }

    /// Sends `request` and reads until `accepted` says the answer is yes; returns the events
    /// that came after the answer in the same read (a player's first media).
    pub async fn request(
        &mut self,
        request: ClientSessionResult,
        what: &str,
        accepted: impl Fn(&ClientSessionEvent) -> bool,
    ) -> anyhow::Result<Vec<ClientSessionEvent>> {
        self.handle(vec![request]).await?;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let read = tokio::time::timeout_at(deadline, self.reader.read(&mut self.buffer))
                .await
                .map_err(|_| anyhow!("no answer to the {what} request"))??;
            if read == 0 {
                bail!("the server closed the connection: {what} refused");
            }
            let results = self.session.handle_input(&self.buffer[..read])?;
            let mut events = self.handle(results).await?.into_iter();
            while let Some(event) = events.next() {
                if accepted(&event) {
                    return Ok(events.collect());
                }
                match event {
                    ClientSessionEvent::ConnectionRequestRejected { description } => {
                        bail!("{what} refused: {description}")
                    }
                    // A play's acceptance starts with `NetStream.Play.Reset`, which rml_rtmp
                    // does not know; only a status that says no ends the request.
                    ClientSessionEvent::UnhandleableOnStatusCode { code }
                        if !code.ends_with(".Reset") && !code.ends_with(".Start") =>
                    {
                        bail!("{what} refused: {code}")
                    }
                    _ => {}
                }
            }
        }
    }
}
