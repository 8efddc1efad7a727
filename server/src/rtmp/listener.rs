//! Accepts RTMP connections, each on its own task, under a ceiling on concurrent connections.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::RtmpContext;
use super::connection;

/// Most RTMP connections served at once (publishers and players); more wait in the backlog.
const MAX_CONNECTIONS: usize = 4_096;

/// Serves RTMP on `listener` until `shutdown` turns true; open connections are told too.
pub async fn serve(listener: TcpListener, context: RtmpContext, shutdown: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut stop = shutdown.clone();
    let mut backoff = Duration::from_millis(10);
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopping| *stopping) => return,
        };
        match accepted {
            Ok((socket, peer)) => {
                backoff = Duration::from_millis(10);
                let _ = socket.set_nodelay(true);
                let context = context.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    connection::run(socket, peer, context, shutdown).await;
                    drop(permit);
                });
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
