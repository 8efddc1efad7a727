//! Accepts RTMP connections, each on its own task, under a ceiling on concurrent connections
//! in all and per IP address. A connection over either ceiling is accepted and closed at once:
//! leaving it in the backlog would let a crowd of idle sockets lock out OBS, whose connection
//! would wait behind them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::RtmpContext;
use super::connection;
use crate::live::LiveMetrics;

/// The connection ceilings (`--rtmp-max-connections`, `--rtmp-max-connections-per-ip`).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Most connections served at once.
    pub total: usize,
    /// Most connections one IP address holds at once.
    pub per_ip: usize,
}

/// Serves RTMP on `listener` until `shutdown` turns true; open connections are told too.
pub async fn serve(
    listener: TcpListener,
    context: RtmpContext,
    caps: Caps,
    shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(caps.total));
    let addresses = Arc::new(AddressCounts::new(caps.per_ip));
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
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    LiveMetrics::add(&context.hub.metrics.rtmp_rejected, 1);
                    tracing::warn!(%peer, max = caps.total, "RTMP connection refused: server full");
                    continue;
                };
                let Some(seat) = AddressCounts::admit(&addresses, peer.ip()) else {
                    LiveMetrics::add(&context.hub.metrics.rtmp_rejected, 1);
                    tracing::warn!(%peer, max = caps.per_ip, "RTMP connection refused: too many from this address");
                    continue;
                };
                let _ = socket.set_nodelay(true);
                let context = context.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    connection::run(socket, peer, context, shutdown).await;
                    drop(seat);
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

/// Open connections per IP address, for the per-address ceiling.
#[derive(Debug)]
pub struct AddressCounts {
    max: usize,
    /// Addresses with at least one open connection (an entry is removed at zero, so the map
    /// holds no more entries than there are connections).
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`AddressCounts`]; gives it back when dropped.
#[derive(Debug)]
pub struct Seat {
    counts: Arc<AddressCounts>,
    address: IpAddr,
}

impl AddressCounts {
    /// Counts allowing `max` connections per address.
    pub fn new(max: usize) -> Self {
        AddressCounts {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A seat for one more connection from `address`, or `None` when it holds `max` already.
    pub fn admit(counts: &Arc<AddressCounts>, address: IpAddr) -> Option<Seat> {
        // Plain data, consistent between statements: usable after a panic elsewhere.
        let mut open = counts.open.lock().unwrap_or_else(|e| e.into_inner());
        let held = open.entry(address).or_insert(0);
        if *held >= counts.max {
            return None;
        }
        *held += 1;
        Some(Seat {
            counts: Arc::clone(counts),
            address,
        })
    }

    /// Connections open from `address`.
    #[cfg(test)]
    fn held(&self, address: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&address).copied().unwrap_or(0)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = open.get_mut(&self.address) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_holds_at_most_its_share_and_gets_it_back() {
        let counts = Arc::new(AddressCounts::new(2));
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let first = AddressCounts::admit(&counts, a).unwrap();
        let _second = AddressCounts::admit(&counts, a).unwrap();
        assert!(AddressCounts::admit(&counts, a).is_none());
        // Another address is not affected.
        assert!(AddressCounts::admit(&counts, b).is_some());
        drop(first);
        assert_eq!(counts.held(a), 1);
        assert!(AddressCounts::admit(&counts, a).is_some());
        // Entries go away with their last connection.
        assert_eq!(counts.held(b), 0);
        assert_eq!(counts.open.lock().unwrap().len(), 1);
    }
}
