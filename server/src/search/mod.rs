//! Catalogue search: an in-memory inverted index of the gigs the catalogue shows, so a text
//! query costs a few posting lists instead of a scan that folds every upcoming gig's text.
//!
//! Why our own index and not a search library (tantivy): the index is derived data, rebuilt
//! from the store at every start (well under a second for 100,000 gigs) and never written to
//! disk, so a library's segments, merges and commit points would be machinery we do not use;
//! what we need on top of a plain inverted index is small (folding, a sorted vocabulary for
//! prefixes, deletion neighbourhoods for one typo, one ranking rule) and is here in a few
//! hundred lines we can bound (every query is at most [`query::MAX_WORDS`] posting-list
//! passes); and tantivy would be the heaviest dependency of the workspace on a 2-core build.
//! The store stays the source of truth: the index ranks and pages, the store gives the gigs.
//!
//! - [`text`]: folding (compatibility decomposition, accents, case) and words.
//! - [`typo`]: one edit, and the deletion neighbourhoods that find words one edit away.
//! - [`vocabulary`]: every indexed word with its posting list; exact, prefix and typo lookups.
//! - [`query`]: a search as typed, its limits.
//! - [`rank`]: the order (live, relevance, soonest) and the cursor through it.
//! - [`index`]: the index itself: gigs in, ranked positions out.
//! - [`shared`]: [`SearchIndex`], the node's index behind a lock, fed [`Change`]s; rebuilds.
//! - [`feed`]: the task that builds it, follows the stream hub and hears the other nodes.
//! - [`peers`]: [`SearchPeers`], the other nodes' news and ours, chosen once per node.
//! - [`listing`]: a catalogue page for a query with text.
//! - [`seam`]: [`CatalogueSearch`], the node's index and its peers, what handlers call.
//!
//! Where it is fed: [`crate::state::AppState::gig_changed`] (a gig registered, edited,
//! cancelled on this node), the stream hub through [`feed`] (live, offline); ended gigs fall out
//! by the clock. On several nodes (Redis) every node keeps its own index the same way and hears
//! the others' changes over pub/sub ([`crate::cluster::search_news`]), rebuilding from the store
//! whenever it may have missed some.

pub mod feed;
pub mod index;
pub mod listing;
pub mod peers;
pub mod query;
pub mod rank;
pub mod seam;
pub mod shared;
pub mod text;
pub mod typo;
pub mod vocabulary;

#[cfg(test)]
pub(crate) mod fixtures;

pub use peers::{Alone, Heard, News, SearchPeers};
pub use query::{MAX_WORDS, QueryError, SearchQuery};
pub use seam::CatalogueSearch;
pub use shared::{Change, SearchIndex};
