//! `Admission`: the connection ceilings of one listener, in all and per IP address. A listener
//! asks for a [`Place`] right after `accept`; the place is held for as long as the connection
//! lives (carried inside its I/O, so it follows a WebSocket upgrade) and given back when it is
//! dropped.
//!
//! A connection over a ceiling is accepted and closed at once: leaving it in the kernel's
//! backlog would let a crowd of idle sockets lock out everyone else, whose connections would
//! wait behind them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The ceilings of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Most connections served at once.
    pub total: usize,
    /// Most connections one IP address holds at once; `None` lifts it (`--no-rate-limits`).
    pub per_ip: Option<usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Every place is taken.
    #[error("the server is full ({0} connections)")]
    Full(usize),
    /// This address holds its share already.
    #[error("too many connections from this address ({0})")]
    AddressFull(usize),
}

/// Places for connections on one listener.
#[derive(Debug, Clone)]
pub struct Admission {
    caps: Caps,
    places: Arc<Semaphore>,
    addresses: Arc<AddressCounts>,
}

/// One admitted connection's place; gives it back when dropped.
#[derive(Debug)]
pub struct Place {
    _permit: OwnedSemaphorePermit,
    _seat: Option<Seat>,
}

impl Admission {
    /// Places under `caps`.
    pub fn new(caps: Caps) -> Self {
        Admission {
            caps,
            places: Arc::new(Semaphore::new(caps.total)),
            addresses: Arc::new(AddressCounts::new(caps.per_ip.unwrap_or(usize::MAX))),
        }
    }

    /// A place for a connection from `address`; `counted` false skips the per-address ceiling
    /// (a trusted proxy's connections carry many clients).
    ///
    /// # Errors
    /// When a ceiling is reached.
    pub fn admit(&self, address: IpAddr, counted: bool) -> Result<Place, Refusal> {
        let permit = Arc::clone(&self.places)
            .try_acquire_owned()
            .map_err(|_| Refusal::Full(self.caps.total))?;
        let seat = match (self.caps.per_ip, counted) {
            (Some(max), true) => Some(
                AddressCounts::admit(&self.addresses, address).ok_or(Refusal::AddressFull(max))?,
            ),
            _ => None,
        };
        Ok(Place {
            _permit: permit,
            _seat: seat,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.caps.total - self.places.available_permits()
    }

    /// Waits until every place is given back, or `limit` passes; whether they all were.
    pub async fn wait_until_empty(&self, limit: Duration) -> bool {
        let all = u32::try_from(self.caps.total).unwrap_or(u32::MAX);
        tokio::time::timeout(limit, self.places.acquire_many(all))
            .await
            .is_ok()
    }
}

/// Open connections per IP address, for the per-address ceiling.
#[derive(Debug)]
struct AddressCounts {
    max: usize,
    /// Addresses with at least one open connection (an entry is removed at zero, so the map
    /// holds no more entries than there are connections).
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`AddressCounts`]; gives it back when dropped.
#[derive(Debug)]
struct Seat {
    counts: Arc<AddressCounts>,
    address: IpAddr,
}

impl AddressCounts {
    fn new(max: usize) -> Self {
        AddressCounts {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A seat for one more connection from `address`, or `None` when it holds `max` already.
    fn admit(counts: &Arc<AddressCounts>, address: IpAddr) -> Option<Seat> {
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

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn each_address_holds_at_most_its_share_and_gets_it_back() {
        let counts = Arc::new(AddressCounts::new(2));
        let first = AddressCounts::admit(&counts, A).unwrap();
        let _second = AddressCounts::admit(&counts, A).unwrap();
        assert!(AddressCounts::admit(&counts, A).is_none());
        // Another address is not affected.
        assert!(AddressCounts::admit(&counts, B).is_some());
        drop(first);
        assert_eq!(counts.held(A), 1);
        assert!(AddressCounts::admit(&counts, A).is_some());
        // Entries go away with their last connection.
        assert_eq!(counts.held(B), 0);
        assert_eq!(counts.open.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_total_and_per_address_ceilings_refuse_and_places_come_back() {
        let admission = Admission::new(Caps {
            total: 3,
            per_ip: Some(2),
        });
        let a1 = admission.admit(A, true).unwrap();
        let _a2 = admission.admit(A, true).unwrap();
        assert_eq!(
            admission.admit(A, true).unwrap_err(),
            Refusal::AddressFull(2)
        );
        // Uncounted (a trusted proxy) passes the per-address ceiling, not the total.
        let _proxy = admission.admit(A, false).unwrap();
        assert_eq!(admission.admit(B, true).unwrap_err(), Refusal::Full(3));
        assert_eq!(admission.open(), 3);
        drop(a1);
        let _b = admission.admit(B, true).unwrap();
        assert!(!admission.wait_until_empty(Duration::from_millis(10)).await);
    }

    #[test]
    fn without_a_per_address_ceiling_only_the_total_counts() {
        let admission = Admission::new(Caps {
            total: 3,
            per_ip: None,
        });
        let _held: Vec<Place> = (0..3).map(|_| admission.admit(A, true).unwrap()).collect();
        assert_eq!(admission.admit(A, true).unwrap_err(), Refusal::Full(3));
    }
}
