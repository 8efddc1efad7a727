//! The chat bus: room-wide chat events cross nodes over Redis pub/sub.
//!
//! One channel per gig, `bmg:chat:{gig}`, subscribed only while this node has a room for the
//! gig: a node then parses only the events of rooms it hosts, however many gigs the cluster
//! runs (one shared channel would make every node read every room's traffic).
//!
//! Every node, the sending one included, delivers a gig's events only as they come back from
//! its subscription (see [`crate::chat::rooms`]): Redis hands all subscribers one order, each
//! node holds one subscription per gig, so every member sees each event once and in the same
//! order wherever it is connected.
//!
//! One task ([`ChatBus::run`]) owns the subscribing connection: it reconciles the channels this
//! node wants with those subscribed, delivers what arrives, pings to notice a dead connection,
//! and reconnects with backoff when Redis drops (logging the loss once and the recovery once).
//! Events published while it was disconnected are lost to this node's members; the history
//! still holds every message.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bookmygig_api::GigId;
use futures::StreamExt as _;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{Notify, watch};

use super::{Cluster, PING_EVERY, stopped as stopping};
use crate::chat::bus::{self, BusError, RoomBus};
use crate::chat::{ChatRooms, RoomEvent};

/// First wait before reconnecting; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest a new room waits for its subscription before its session gives up.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The pub/sub channel of a gig's chat.
pub fn channel(cluster: &Cluster, gig: GigId) -> String {
    cluster.key(format!("chat:{gig}"))
}

/// Room-wide chat events over Redis pub/sub. Share it as `Arc<ChatBus>`.
#[derive(Debug)]
pub struct ChatBus {
    cluster: Arc<Cluster>,
    /// `bmg:chat:`, to read the gig back from a channel name.
    channel_prefix: String,
    /// Gigs with a room on this node.
    wanted: Mutex<HashSet<GigId>>,
    /// Gigs whose channel the live connection is subscribed to.
    active: Mutex<HashSet<GigId>>,
    /// Woken when `wanted` changes.
    wanted_changed: Notify,
    /// Bumped when `active` changes, for [`RoomBus::listening`].
    active_changed: watch::Sender<u64>,
    /// The subscriber task has ended.
    stopped: AtomicBool,
}

/// Why one subscribing connection ended.
enum Ending {
    Shutdown,
    Lost(String),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain sets: consistent between statements, usable after a panic elsewhere.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ChatBus {
    /// A bus on `cluster`'s Redis; nothing is received until [`ChatBus::run`] runs.
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(ChatBus {
            channel_prefix: cluster.key("chat:"),
            cluster,
            wanted: Mutex::new(HashSet::new()),
            active: Mutex::new(HashSet::new()),
            wanted_changed: Notify::new(),
            active_changed: watch::Sender::new(0),
            stopped: AtomicBool::new(false),
        })
    }

    /// Receives this node's gigs' events into `rooms` until `shutdown` turns true,
    /// reconnecting whenever Redis drops.
    pub async fn run(self: Arc<Self>, rooms: Arc<ChatRooms>, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        let mut failing = false;
        loop {
            let lost = match self.cluster.pubsub().await {
                Ok(pubsub) => {
                    if failing {
                        tracing::info!("chat bus reconnected to Redis");
                        failing = false;
                    }
                    backoff = MIN_BACKOFF;
                    let (sink, stream) = pubsub.split();
                    let ending = self.serve(sink, stream, &rooms, &mut shutdown).await;
                    self.set_active(|active| active.clear());
                    match ending {
                        Ending::Shutdown => break,
                        Ending::Lost(error) => error,
                    }
                }
                Err(error) => error.to_string(),
            };
            if !failing {
                tracing::warn!(error = %lost, "chat bus lost Redis; other nodes' chat events \
                    do not reach this node until it reconnects");
                failing = true;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stopping(&mut shutdown) => break,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        self.stopped.store(true, Ordering::SeqCst);
        self.active_changed
            .send_modify(|generation| *generation += 1);
    }

    /// Runs one subscribing connection until it fails or the server stops.
    async fn serve(
        &self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        rooms: &ChatRooms,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Ending {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if let Err(error) = self.reconcile(&mut sink).await {
                return Ending::Lost(error.to_string());
            }
            tokio::select! {
                biased;
                () = stopping(shutdown) => return Ending::Shutdown,
                message = stream.next() => match message {
                    Some(message) => self.deliver(rooms, &message),
                    None => return Ending::Lost("connection closed".into()),
                },
                () = self.wanted_changed.notified() => {}
                _ = ping.tick() => {
                    if let Err(lost) = super::ping_subscriber(&mut sink).await {
                        return Ending::Lost(lost);
                    }
                }
            }
        }
    }

    /// Subscribes to the gigs wanted and not yet subscribed, and unsubscribes from those no
    /// longer wanted.
    async fn reconcile(&self, sink: &mut PubSubSink) -> redis::RedisResult<()> {
        let (join, part): (Vec<GigId>, Vec<GigId>) = {
            let wanted = lock(&self.wanted);
            let active = lock(&self.active);
            (
                wanted.difference(&active).copied().collect(),
                active.difference(&wanted).copied().collect(),
            )
        };
        if !join.is_empty() {
            let channels: Vec<String> = join.iter().map(|g| channel(&self.cluster, *g)).collect();
            sink.subscribe(&channels).await?;
            self.set_active(|active| active.extend(join));
        }
        if !part.is_empty() {
            // Inactive before the command goes: a room made anew meanwhile waits in
            // `listening` for the subscription that follows, instead of trusting this one.
            self.set_active(|active| {
                for gig in &part {
                    active.remove(gig);
                }
            });
            let channels: Vec<String> = part.iter().map(|g| channel(&self.cluster, *g)).collect();
            sink.unsubscribe(&channels).await?;
        }
        Ok(())
    }

    fn set_active(&self, change: impl FnOnce(&mut HashSet<GigId>)) {
        change(&mut lock(&self.active));
        self.active_changed
            .send_modify(|generation| *generation += 1);
    }

    /// Hands one pub/sub message to its room.
    fn deliver(&self, rooms: &ChatRooms, message: &redis::Msg) {
        let gig = message
            .get_channel_name()
            .strip_prefix(self.channel_prefix.as_str())
            .and_then(|id| id.parse::<GigId>().ok());
        match (gig, bus::decode(message.get_payload_bytes())) {
            (Some(gig), Some(event)) => rooms.deliver(gig, event),
            _ => tracing::warn!(
                channel = message.get_channel_name(),
                "chat bus ignored a message it cannot read"
            ),
        }
    }
}

#[async_trait]
impl RoomBus for ChatBus {
    async fn publish(&self, gig: GigId, event: &RoomEvent) -> Result<(), BusError> {
        let mut conn = self.cluster.connection();
        let _receivers: i64 = redis::cmd("PUBLISH")
            .arg(channel(&self.cluster, gig))
            .arg(bus::encode(event))
            .query_async(&mut conn)
            .await
            .map_err(|e| BusError::Redis(e.to_string()))?;
        Ok(())
    }

    fn want(&self, gig: GigId) {
        lock(&self.wanted).insert(gig);
        self.wanted_changed.notify_one();
    }

    fn unwant(&self, gig: GigId) {
        lock(&self.wanted).remove(&gig);
        self.wanted_changed.notify_one();
    }

    async fn listening(&self, gig: GigId) -> Result<(), BusError> {
        let mut changes = self.active_changed.subscribe();
        let subscribed = async {
            loop {
                if lock(&self.active).contains(&gig) {
                    return Ok(());
                }
                if self.stopped.load(Ordering::SeqCst) {
                    return Err(BusError::Stopped);
                }
                if changes.changed().await.is_err() {
                    return Err(BusError::Stopped);
                }
            }
        };
        tokio::time::timeout(LISTEN_TIMEOUT, subscribed)
            .await
            .unwrap_or_else(|_| Err(BusError::Redis("not subscribed in time".into())))
    }
}
