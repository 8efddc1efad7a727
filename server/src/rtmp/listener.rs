//! Accepts RTMP connections, each on its own task, under the listener's [`Admission`]
//! ceilings (`--rtmp-max-connections`, `--rtmp-max-connections-per-ip`): a connection over
//! either is accepted and closed at once, so idle sockets cannot lock OBS out.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::RtmpContext;
use super::connection;
use crate::live::LiveMetrics;
use crate::net::Transport;
use crate::net::admission::{Admission, Refusal};

/// Serves RTMP on `listener` until `shutdown` turns true; open connections are told too.
pub async fn serve(
    listener: TcpListener,
    context: RtmpContext,
    admission: Admission,
    transport: Transport,
    shutdown: watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopping| *stopping) => return,
        };
        match accepted {
            Ok((socket, peer)) => {
                backoff = Duration::from_millis(10);
                let place = match admission.admit(peer.ip(), true) {
                    Ok(place) => place,
                    Err(refusal) => {
                        LiveMetrics::add(&context.hub.metrics.rtmp_rejected, 1);
                        match refusal {
                            Refusal::Full(max) => {
                                tracing::warn!(%peer, max, "RTMP connection refused: server full");
                            }
                            Refusal::AddressFull(max) => tracing::warn!(
                                %peer, max, "RTMP connection refused: too many from this address"
                            ),
                        }
                        continue;
                    }
                };
                let _ = socket.set_nodelay(true);
                let context = context.clone();
                let shutdown = shutdown.clone();
                match &transport {
                    Transport::Plain => {
                        tokio::spawn(async move {
                            connection::run(socket, peer, context, shutdown).await;
                            drop(place);
                        });
                    }
                    Transport::Tls(identity) => {
                        let identity = identity.clone();
                        tokio::spawn(async move {
                            // The handshake counts against the setup deadline too.
                            match identity.accept(socket, context.setup_timeout).await {
                                Ok(tls) => connection::run(tls, peer, context, shutdown).await,
                                Err(error) => {
                                    tracing::info!(%peer, %error, "RTMPS connection dropped");
                                }
                            }
                            drop(place);
                        });
                    }
                }
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "RTMP accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
