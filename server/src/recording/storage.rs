//! The object store recordings live in, chosen once at start-up by `--recordings`: a local
//! directory (`file:///var/lib/bookmygig/recordings`, by default `<data-dir>/recordings`) or
//! S3-compatible storage (`s3://bucket/prefix`), which the nodes of a cluster share so that any
//! of them serves any replay.
//!
//! This module only opens the store and proves it works; where a gig's manifest and segments
//! live in it is [`super::archive`]'s business.

use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload, RetryConfig};
use url::Url;

/// How long the start-up probe may take: a store that cannot write a few bytes in this time is
/// misconfigured or down, and the server should say so rather than start without recordings.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the start-up probe writes (and deletes at once), below the prefix; not a gig id, so
/// whoever lists the recordings skips it.
const PROBE_FOLDER: &str = ".probe";

/// The flags that choose the recordings' store, flattened into the server's configuration.
#[derive(Clone, Debug, clap::Args)]
pub struct RecordingStorageArgs {
    /// Where recordings are kept: `file:///absolute/dir`, or S3-compatible storage as
    /// `s3://bucket/prefix` (shared by every node of a cluster). Default: `<data-dir>/recordings`.
    #[arg(long = "recordings", env = "BOOKMYGIG_RECORDINGS", value_name = "URL", value_parser = parse_recordings_url)]
    pub recordings: Option<Url>,

    /// S3 only: the endpoint of an S3-compatible service (MinIO, Ceph, R2, …); without it, AWS.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// S3 only: the region requests are signed for.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// S3 only: the access key id. Without it (and the secret), the other usual AWS sources
    /// are tried: `AWS_SESSION_TOKEN`, web identity, container and instance credentials.
    #[arg(
        long,
        env = "AWS_ACCESS_KEY_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub s3_access_key_id: Option<String>,

    /// S3 only: the secret access key (prefer the environment: flags show in `ps`).
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true, value_name = "KEY", value_parser = parse_secret_key)]
    pub s3_secret_access_key: Option<S3SecretKey>,

    /// S3 only: allows a plain `http://` endpoint (a test server on loopback). Never in
    /// production: recordings and request signatures would cross the network in clear.
    #[arg(long, env = "BOOKMYGIG_S3_ALLOW_HTTP")]
    pub s3_allow_http: bool,
}

impl RecordingStorageArgs {
    /// The store's URL: `--recordings` when given, else `<data_dir>/recordings` as a `file://`
    /// URL (a relative `data_dir` is taken from the current directory).
    ///
    /// # Errors
    /// When the current directory is needed and unreadable, or `data_dir` makes no URL.
    pub fn url(&self, data_dir: &FsPath) -> Result<Url, StorageError> {
        if let Some(url) = &self.recordings {
            return Ok(url.clone());
        }
        let dir = std::path::absolute(data_dir.join("recordings")).map_err(|source| {
            StorageError::Directory {
                path: data_dir.join("recordings"),
                source,
            }
        })?;
        Url::from_directory_path(&dir).map_err(|()| StorageError::BadUrl {
            url: dir.display().to_string(),
            why: "the data directory is not a path a file:// URL can name".into(),
        })
    }
}

/// The secret access key of S3 storage: its `Debug` is redacted, so the configuration can be
/// logged.
#[derive(Clone)]
pub struct S3SecretKey(String);

impl fmt::Debug for S3SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3SecretKey(<redacted>)")
    }
}

fn parse_secret_key(text: &str) -> Result<S3SecretKey, String> {
    Ok(S3SecretKey(text.to_owned()))
}

fn parse_recordings_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| {
        format!("not a URL ({e}); expected file:///absolute/dir or s3://bucket/prefix")
    })?;
    match Location::of(&url) {
        Ok(_) => Ok(url),
        // clap names the flag and the value already.
        Err(StorageError::BadUrl { why, .. }) => Err(why),
        Err(other) => Err(other.to_string()),
    }
}

/// Why the recordings' store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL names no store we can use.
    #[error("--recordings {url}: {why}")]
    BadUrl {
        /// The URL, without any credentials it carried.
        url: String,
        /// What is wrong with it, and what would do.
        why: String,
    },
    /// The S3 endpoint is not a URL we may use.
    #[error("--s3-endpoint {endpoint}: {why}")]
    BadEndpoint {
        /// The endpoint, without any credentials it carried.
        endpoint: String,
        /// What is wrong with it, and what would do.
        why: String,
    },
    /// The local directory could not be made or found.
    #[error("cannot create the recordings directory {}: {source}", path.display())]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store rejected its configuration, or failed the start-up probe.
    #[error("recording storage {store} is not usable: {source}")]
    Unusable {
        /// The store, as [`RecordingStorage::description`] says it.
        store: String,
        /// The cause.
        source: object_store::Error,
    },
    /// The store did not answer the start-up probe in time.
    #[error("recording storage {store} did not answer within {after:?}")]
    Unreachable {
        /// The store, as [`RecordingStorage::description`] says it.
        store: String,
        /// How long it was given.
        after: Duration,
    },
}

/// The recordings' object store, opened and proven writable: cheap to clone.
#[derive(Clone)]
pub struct RecordingStorage {
    /// The store itself; every path used in it starts with `prefix`.
    store: Arc<dyn ObjectStore>,
    /// The folder everything lives under (empty for a directory: the directory is the root).
    prefix: Path,
    /// What the log says about it: the URL without credentials, and the S3 endpoint.
    description: String,
}

impl RecordingStorage {
    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The folder every recording lives under in [`RecordingStorage::store`].
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Where it is, fit for the log: `file:///…` or `s3://bucket/prefix` (and the endpoint),
    /// never credentials.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Debug for RecordingStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingStorage")
            .field("description", &self.description)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RecordingStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// What a `--recordings` URL names.
enum Location {
    /// A local directory.
    Directory(PathBuf),
    /// A bucket of S3-compatible storage and the folder in it.
    S3 { bucket: String, prefix: Path },
}

impl Location {
    fn of(url: &Url) -> Result<Self, StorageError> {
        let bad = |why: &str| StorageError::BadUrl {
            url: without_credentials(url),
            why: why.to_owned(),
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a query or fragment means nothing here"));
        }
        match url.scheme() {
            "file" => url.to_file_path().map(Location::Directory).map_err(|()| {
                bad("a file:// URL needs an absolute path and no host, as file:///var/lib/bookmygig/recordings")
            }),
            "s3" => {
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(bad(
                        "credentials do not belong in the URL; give them with \
                         --s3-access-key-id and --s3-secret-access-key (or AWS_ACCESS_KEY_ID \
                         and AWS_SECRET_ACCESS_KEY)",
                    ));
                }
                let bucket = match url.host_str() {
                    Some(bucket) if !bucket.is_empty() => bucket.to_owned(),
                    _ => return Err(bad("an s3:// URL names its bucket: s3://bucket/prefix")),
                };
                if url.port().is_some() {
                    return Err(bad(
                        "an s3:// URL names a bucket, not a server; give the server with \
                         --s3-endpoint",
                    ));
                }
                let prefix = Path::from_url_path(url.path())
                    .map_err(|e| bad(&format!("the prefix is not a usable path: {e}")))?;
                Ok(Location::S3 { bucket, prefix })
            }
            other => Err(bad(&format!(
                "`{other}:` storage is not supported; use file:///absolute/dir or s3://bucket/prefix"
            ))),
        }
    }
}

/// `url` without a user name or password, for messages.
fn without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Opens the store `args` choose (`data_dir` gives the default directory), creating the
/// directory of a `file://` store when missing, and proves it works by writing and deleting a
/// small object, so a misconfigured store stops the server's start with an error naming it
/// rather than losing the first show's recording.
///
/// # Errors
/// A URL of no supported kind, a directory that cannot be made, an S3 configuration the
/// client rejects, and a store that fails or does not answer the probe.
pub async fn open(
    args: &RecordingStorageArgs,
    data_dir: &FsPath,
) -> Result<RecordingStorage, StorageError> {
    let url = args.url(data_dir)?;
    let (storage, probe_store) = match Location::of(&url)? {
        Location::Directory(dir) => {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|source| StorageError::Directory {
                    path: dir.clone(),
                    source,
                })?;
            let description = without_credentials(&url);
            let store = LocalFileSystem::new_with_prefix(&dir)
                .map_err(|source| StorageError::Unusable {
                    store: description.clone(),
                    source,
                })?
                // Deleting a gig's last segment removes its folder too.
                .with_automatic_cleanup(true);
            let store: Arc<dyn ObjectStore> = Arc::new(store);
            let storage = RecordingStorage {
                store: Arc::clone(&store),
                prefix: Path::default(),
                description,
            };
            (storage, store)
        }
        Location::S3 { bucket, prefix } => {
            let description = match &args.s3_endpoint {
                Some(endpoint) => format!(
                    "s3://{bucket}/{prefix} at {}",
                    checked_endpoint(endpoint, args.s3_allow_http)?
                ),
                None => format!("s3://{bucket}/{prefix}"),
            };
            let builder = s3_builder(args, &bucket);
            let unusable = |source| StorageError::Unusable {
                store: description.clone(),
                source,
            };
            let store = builder.clone().build().map_err(unusable)?;
            // The probe gives up after a retry or two, so a wrong endpoint fails the start in
            // seconds; recordings themselves keep the client's patient default.
            let probe_store = builder
                .with_retry(RetryConfig {
                    max_retries: 2,
                    retry_timeout: PROBE_TIMEOUT,
                    ..RetryConfig::default()
                })
                .build()
                .map_err(unusable)?;
            let storage = RecordingStorage {
                store: Arc::new(store),
                prefix,
                description,
            };
            (storage, Arc::new(probe_store) as Arc<dyn ObjectStore>)
        }
    };
    probe(&storage, probe_store.as_ref()).await?;
    Ok(storage)
}

/// `endpoint` as the log may show it, once it is known to be an `https://` URL (or `http://`
/// with `allow_http`) without credentials.
fn checked_endpoint(endpoint: &str, allow_http: bool) -> Result<String, StorageError> {
    let bad = |why: &str| StorageError::BadEndpoint {
        endpoint: Url::parse(endpoint)
            .map(|url| without_credentials(&url))
            .unwrap_or_else(|_| "(not a URL)".to_owned()),
        why: why.to_owned(),
    };
    let url =
        Url::parse(endpoint).map_err(|_| bad("expected a URL such as https://s3.example.com"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials do not belong in the URL; give them with --s3-access-key-id and \
             --s3-secret-access-key",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(bad(
                "plain http:// needs --s3-allow-http (for a test server on loopback; never in \
                 production)",
            ));
        }
        _ => return Err(bad("expected an https:// URL")),
    }
    Ok(url.to_string())
}

/// The S3 client `args` describe: the usual `AWS_*` environment first (session tokens, web
/// identity, container credentials), then our flags, which win.
fn s3_builder(args: &RecordingStorageArgs, bucket: &str) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&args.s3_region)
        .with_allow_http(args.s3_allow_http);
    if let Some(endpoint) = &args.s3_endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(id) = &args.s3_access_key_id {
        builder = builder.with_access_key_id(id);
    }
    if let Some(S3SecretKey(secret)) = &args.s3_secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    builder
}

/// Writes a small object under the prefix and deletes it again, through `store` (the storage's
/// own store, or one configured like it that gives up sooner).
async fn probe(storage: &RecordingStorage, store: &dyn ObjectStore) -> Result<(), StorageError> {
    let path = storage
        .prefix
        .clone()
        .join(PROBE_FOLDER)
        .join(uuid::Uuid::now_v7().to_string());
    let attempt = async {
        store
            .put(&path, PutPayload::from_static(b"bookmygig"))
            .await?;
        store.delete(&path).await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(StorageError::Unusable {
            store: storage.description.clone(),
            source,
        }),
        Err(_) => Err(StorageError::Unreachable {
            store: storage.description.clone(),
            after: PROBE_TIMEOUT,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;
    use clap::Parser;
    use futures::TryStreamExt as _;

    /// The flags alone, parsed as the server parses its own.
    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        storage: RecordingStorageArgs,
    }

    fn flags(args: &[&str]) -> Result<RecordingStorageArgs, clap::Error> {
        Flags::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .map(|flags| flags.storage)
    }

    fn file_url(dir: &FsPath) -> String {
        Url::from_directory_path(dir)
            .expect("an absolute directory")
            .to_string()
    }

    #[tokio::test]
    async fn a_directory_store_keeps_lists_reads_ranges_and_deletes() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("not-yet-there");
        let args = flags(&["--recordings", &file_url(&dir)]).expect("flags");
        let storage = open(&args, temp.path()).await.expect("open");
        assert!(dir.is_dir(), "the directory is created");
        assert!(storage.description().starts_with("file:///"));
        let store = storage.store();
        let segment = storage.prefix().clone().join("gig").join("0000000001.flv");
        store
            .put(&segment, PutPayload::from_static(b"0123456789"))
            .await
            .expect("put");
        assert_eq!(
            store
                .get_range(&segment, 2..5)
                .await
                .expect("range")
                .as_ref(),
            b"234"
        );
        let listed: Vec<_> = store
            .list(Some(&storage.prefix().clone().join("gig")))
            .map_ok(|meta| (meta.location, meta.size))
            .try_collect()
            .await
            .expect("list");
        assert_eq!(listed, vec![(segment.clone(), 10)]);
        store.delete(&segment).await.expect("delete");
        assert!(matches!(
            store.get(&segment).await,
            Err(object_store::Error::NotFound { .. })
        ));
        let left: Vec<_> = store
            .list(None)
            .try_collect()
            .await
            .expect("list everything");
        assert!(
            left.is_empty(),
            "the probe cleans up after itself: {left:?}"
        );
    }

    #[tokio::test]
    async fn the_default_is_a_directory_under_the_data_dir() {
        let temp = tempfile::tempdir().expect("tempdir");
        let args = flags(&[]).expect("flags");
        assert_eq!(
            args.url(temp.path()).expect("url").as_str(),
            file_url(&temp.path().join("recordings"))
        );
        let storage = open(&args, temp.path()).await.expect("open");
        assert!(temp.path().join("recordings").is_dir());
        assert!(storage.prefix().as_ref().is_empty());
    }

    #[test]
    fn a_relative_data_dir_gives_an_absolute_url() {
        let args = flags(&[]).expect("flags");
        let url = args.url(FsPath::new("data")).expect("url");
        assert_eq!(url.scheme(), "file");
        assert!(url.path().ends_with("/data/recordings/"), "{url}");
    }

    #[test]
    fn unsupported_schemes_are_refused_naming_what_works() {
        for url in [
            "http://example.com/recordings",
            "gs://bucket/prefix",
            "ftp://host/dir",
        ] {
            let error = flags(&["--recordings", url]).expect_err(url).to_string();
            assert!(
                error.contains("file:///absolute/dir or s3://bucket/prefix"),
                "{url}: {error}"
            );
        }
        let error = flags(&["--recordings", "/var/lib/recordings"])
            .expect_err("a bare path")
            .to_string();
        assert!(error.contains("not a URL"), "{error}");
    }

    #[test]
    fn malformed_file_and_s3_urls_are_refused_with_the_reason() {
        let refused = |url: &str| {
            let url = Url::parse(url).expect("a URL");
            match Location::of(&url) {
                Err(error) => error.to_string(),
                Ok(_) => panic!("{url} was accepted"),
            }
        };
        assert!(refused("file://relative/dir").contains("absolute path"));
        assert!(refused("s3:///prefix").contains("names its bucket"));
        assert!(refused("s3://bucket:9000/prefix").contains("--s3-endpoint"));
        assert!(refused("s3://bucket/prefix?x=1").contains("query"));
        let with_secret = refused("s3://key:hunter2@bucket/prefix");
        assert!(with_secret.contains("--s3-access-key-id"), "{with_secret}");
        assert!(!with_secret.contains("hunter2"), "{with_secret}");
    }

    #[test]
    fn s3_urls_name_a_bucket_and_a_prefix() {
        let url = Url::parse("s3://recordings/eu/node-pool").expect("a URL");
        let Ok(Location::S3 { bucket, prefix }) = Location::of(&url) else {
            panic!("not an S3 location");
        };
        assert_eq!(bucket, "recordings");
        assert_eq!(prefix.as_ref(), "eu/node-pool");
    }

    #[test]
    fn the_secret_key_never_shows_in_debug() {
        let args = flags(&[
            "--recordings",
            "s3://bucket/prefix",
            "--s3-access-key-id",
            "AKIDEXAMPLE",
            "--s3-secret-access-key",
            "hunter2",
        ])
        .expect("flags");
        let shown = format!("{args:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[tokio::test]
    async fn a_plain_http_endpoint_needs_allow_http() {
        let temp = tempfile::tempdir().expect("tempdir");
        for (endpoint, why) in [
            ("http://127.0.0.1:9000", "--s3-allow-http"),
            ("127.0.0.1:9000", "expected a URL"),
            ("https://user:hunter2@s3.example.com", "credentials"),
        ] {
            let args = flags(&[
                "--recordings",
                "s3://bucket/prefix",
                "--s3-endpoint",
                endpoint,
            ])
            .expect("flags");
            let error = open(&args, temp.path())
                .await
                .expect_err(endpoint)
                .to_string();
            assert!(error.contains(why), "{endpoint}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_s3_endpoint_fails_naming_the_store() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let args = flags(&[
            "--recordings",
            "s3://bucket/prefix",
            "--s3-endpoint",
            &format!("http://127.0.0.1:{port}"),
            "--s3-allow-http",
            "--s3-access-key-id",
            "test",
            "--s3-secret-access-key",
            "test",
        ])
        .expect("flags");
        let temp = tempfile::tempdir().expect("tempdir");
        let error = open(&args, temp.path())
            .await
            .expect_err("nothing listens there")
            .to_string();
        assert!(error.contains("s3://bucket/prefix"), "{error}");
        assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    }
}
