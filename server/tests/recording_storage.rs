//! Recording storage on real S3-compatible storage (a private `moto_server` on loopback, see
//! `bookmygig_testkit::S3Server`): what the recorder and the replay need of it works there as it
//! does in a directory, and two nodes opening the same `s3://` URL share the same recordings.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bookmygig_server::recording::storage::{self, RecordingStorage, RecordingStorageArgs};
use bookmygig_testkit::S3Server;
use clap::Parser;
use futures::TryStreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStoreExt as _, PutPayload};

/// The storage flags alone, parsed as the server parses its own.
#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    storage: RecordingStorageArgs,
}

/// Opens the recordings' storage at `url` in `s3`, as a node started with the testkit's flags
/// would.
async fn open_on(s3: &S3Server, url: &str) -> RecordingStorage {
    let args = std::iter::once("bookmygig-server".to_owned()).chain(s3.server_args(url));
    let flags = Flags::try_parse_from(args).expect("the testkit's flags parse");
    let data_dir = tempfile::tempdir().expect("tempdir");
    storage::open(&flags.storage, data_dir.path())
        .await
        .expect("the S3 storage opens")
}

/// Every object under `folder`, with its size, in name order.
async fn listing(storage: &RecordingStorage, folder: &Path) -> Vec<(Path, u64)> {
    let mut objects: Vec<_> = storage
        .store()
        .list(Some(folder))
        .map_ok(|meta| (meta.location, meta.size))
        .try_collect()
        .await
        .expect("list");
    objects.sort();
    objects
}

#[tokio::test]
async fn s3_storage_keeps_lists_reads_ranges_and_deletes() {
    let s3 = S3Server::start();
    s3.create_bucket("recordings");
    let storage = open_on(&s3, "s3://recordings/cluster-a").await;
    assert_eq!(storage.prefix().as_ref(), "cluster-a");
    assert!(
        storage
            .description()
            .starts_with("s3://recordings/cluster-a"),
        "{storage}"
    );
    assert!(
        !format!("{storage} {storage:?}").contains(bookmygig_testkit::S3_SECRET_ACCESS_KEY),
        "the secret stays out of the log"
    );

    let store = storage.store();
    let gig = storage.prefix().clone().join("gig-1");
    let first = gig.clone().join("0000000001.flv");
    let second = gig.clone().join("0000000002.flv");
    store
        .put(&first, PutPayload::from_static(b"FLV first segment"))
        .await
        .expect("put");
    store
        .put(&second, PutPayload::from(vec![7u8; 100_000]))
        .await
        .expect("put");

    assert_eq!(
        store.get_range(&first, 4..9).await.expect("range").as_ref(),
        b"first"
    );
    let middle = store
        .get_range(&second, 40_000..40_010)
        .await
        .expect("range");
    assert_eq!(middle.as_ref(), [7u8; 10]);
    assert_eq!(
        listing(&storage, &gig).await,
        vec![(first.clone(), 17), (second.clone(), 100_000)]
    );

    store.delete(&first).await.expect("delete");
    assert!(matches!(
        store.get(&first).await,
        Err(object_store::Error::NotFound { .. })
    ));
    assert_eq!(listing(&storage, &gig).await, vec![(second, 100_000)]);
    let probes = listing(&storage, &storage.prefix().clone().join(".probe")).await;
    assert!(
        probes.is_empty(),
        "the start-up probe cleans up: {probes:?}"
    );
}

#[tokio::test]
async fn two_nodes_on_one_s3_url_share_the_same_bytes() {
    let s3 = S3Server::start();
    s3.create_bucket("shared");
    let publishing_node = open_on(&s3, "s3://shared/recordings").await;
    let replaying_node = open_on(&s3, "s3://shared/recordings").await;
    let segment = publishing_node
        .prefix()
        .clone()
        .join("gig-2")
        .join("0000000001.flv");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    publishing_node
        .store()
        .put(&segment, PutPayload::from(bytes.clone()))
        .await
        .expect("put");

    let read = replaying_node
        .store()
        .get_range(&segment, 1_000..2_000)
        .await
        .expect("the other node reads it");
    assert_eq!(read.as_ref(), &bytes[1_000..2_000]);

    replaying_node
        .store()
        .delete(&segment)
        .await
        .expect("delete");
    assert!(matches!(
        publishing_node.store().head(&segment).await,
        Err(object_store::Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_missing_bucket_fails_the_start_naming_it() {
    let s3 = S3Server::start();
    let args = std::iter::once("bookmygig-server".to_owned())
        .chain(s3.server_args("s3://no-such-bucket/recordings"));
    let flags = Flags::try_parse_from(args).expect("flags");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let error = storage::open(&flags.storage, data_dir.path())
        .await
        .expect_err("there is no such bucket")
        .to_string();
    assert!(error.contains("s3://no-such-bucket/recordings"), "{error}");
    assert!(error.contains(&s3.endpoint()), "{error}");
}
