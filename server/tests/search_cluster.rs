//! Catalogue search on a cluster: two real server processes on one real redis-server, each with
//! its own index. What one node does to a gig (registered, edited, cancelled, gone live with
//! ffmpeg publishing) is searched accordingly on the other within a second.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bookmygig_api::{Gig, GigId, GigPatch, Money, NewGig};
use bookmygig_client::{Client, GigListQuery};
use bookmygig_testkit::eventually;
use common::cluster::ClusterNodes;
use common::{FfmpegPublisher, ServerProcess, live_gig_form, new_gig};

/// How long a node may take to start and build its index, or to see a publisher (generous: a
/// busy 2-core machine).
const START_PATIENCE: Duration = Duration::from_secs(30);
/// The promise: what one node did is searched so on the other within this.
const WITHIN_A_SECOND: Duration = Duration::from_secs(1);

/// A form for a gig titled `title` starting `in_minutes` from now.
fn form(title: &str, in_minutes: i64) -> NewGig {
    let mut form = new_gig(title, None);
    form.starts_at = time::OffsetDateTime::now_utc() + time::Duration::minutes(in_minutes);
    form.ends_at = form.starts_at + time::Duration::hours(1);
    form
}

async fn search(client: &Client, q: &str) -> Vec<GigId> {
    let query = GigListQuery {
        q: Some(q.into()),
        ..Default::default()
    };
    let page = client.list_gigs(&query).await.unwrap();
    page.items.iter().map(|gig| gig.id).collect()
}

/// Waits at most `patience` until searching `q` on `node` finds exactly `expected`, in order.
async fn found_within(node: &Client, q: &str, expected: &[GigId], patience: Duration) {
    eventually(&format!("searching {q:?}"), patience, || async {
        let found = search(node, q).await;
        if found == expected {
            Ok(())
        } else {
            Err(found)
        }
    })
    .await;
}

fn publish_url(node: &ServerProcess, gig: &Gig) -> String {
    let key = gig.stream_key.as_ref().expect("the creator sees the key");
    format!("rtmp://{}/live/{}", node.rtmp, key.expose())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_node_does_to_a_gig_is_searched_so_on_the_other_within_a_second() {
    let cluster = ClusterNodes::start(2, &[]);
    let (a, b) = (cluster.node(0), cluster.node(1));
    let alice = a.sign_up("alice").await;
    alice
        .top_up(Money::from_dollars(99 * 4), None)
        .await
        .unwrap();
    let on_b = b.client();

    // A first wait, generous: B's index is built (only the index forgives a typo).
    let warm = alice.create_gig(&form("Zebra Warmup", 120)).await.unwrap();
    found_within(&on_b, "zerba", &[warm.id], START_PATIENCE).await;

    // Registered on A: found on B.
    let gig = alice.create_gig(&form("Salsa Night", 60)).await.unwrap();
    found_within(&on_b, "slasa nig", &[gig.id], WITHIN_A_SECOND).await;

    // Edited on A: B finds it by its new words, not its old ones.
    let patch = GigPatch {
        title: Some("Tango Afternoon".into()),
        ..Default::default()
    };
    alice.update_gig(gig.id, &patch).await.unwrap();
    found_within(&on_b, "tnago", &[gig.id], WITHIN_A_SECOND).await;
    assert!(search(&on_b, "slasa").await.is_empty());

    // Cancelled on A: gone on B.
    alice.cancel_gig(gig.id).await.unwrap();
    found_within(&on_b, "tnago", &[], WITHIN_A_SECOND).await;

    // Gone live on A: first on B, though it starts later than an equally relevant gig.
    let soon = alice.create_gig(&form("Jazz Night", 5)).await.unwrap();
    let on_air = alice
        .create_gig(&live_gig_form("Jazz Night"))
        .await
        .unwrap();
    found_within(&on_b, "jazz nihgt", &[soon.id, on_air.id], WITHIN_A_SECOND).await;
    let ffmpeg = FfmpegPublisher::start(&publish_url(a, &on_air), "320x240", 15, 60);
    eventually("A sees the publisher", START_PATIENCE, || async {
        match a.client().gig(on_air.id).await {
            Ok(gig) if gig.status == bookmygig_api::GigStatus::Live => Ok(()),
            other => Err(other.map(|gig| gig.status)),
        }
    })
    .await;
    found_within(&on_b, "jazz nihgt", &[on_air.id, soon.id], WITHIN_A_SECOND).await;
    drop(ffmpeg);
}
