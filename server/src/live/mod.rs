//! Live video inside one node: the [`hub::StreamHub`] holds a [`stream::LiveStream`] per gig
//! on air; publishers push tags into it and every viewer reads them through a
//! [`feed::ViewerFeed`], which never slows the publisher or the other viewers. The
//! [`directory`] is the seam between one node and many: with several nodes a stream published
//! on another node is fed into this hub by a relay (see [`crate::cluster::relay`]), so the same
//! fan-out serves it. [`seats`] bounds how many streams one account plays of one gig at once.

pub mod directory;
pub mod feed;
pub mod hub;
pub mod metrics;
pub mod recovery;
pub mod seats;
pub mod stream;

pub use directory::{PublishClaim, StreamDirectory, StreamSeams};
pub use feed::{FeedEnd, ViewerFeed};
pub use hub::{HubEvent, Publisher, StreamHub};
pub use metrics::LiveMetrics;
pub use stream::{FeedKind, LiveStream, StreamSource};
