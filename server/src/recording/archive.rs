//! `Archive`: where recordings live in the object store (a directory, or S3-compatible storage
//! shared by the nodes of a cluster): `{prefix}/{gig}/manifest.json` beside the segments
//! `{prefix}/{gig}/{number}.flv`. Reading, writing and deleting them is this module's job, and
//! so is making sure only one writer at a time touches a gig's recording on this node.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bookmygig_api::GigId;
use bytes::Bytes;
use futures::TryStreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _};

use super::manifest::{Manifest, ManifestError};

/// Why the archive could not do something.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The object store failed.
    #[error("recording storage: {0}")]
    Storage(#[from] object_store::Error),
    /// A manifest is unreadable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A manifest could not be written.
    #[error("cannot encode a recording's manifest: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The recordings of every gig, in one object store.
pub struct Archive {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// One writer per gig at a time on this node (a publisher that reconnects waits for the
    /// previous session's last segments).
    writers: Mutex<HashMap<GigId, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// Recordings kept in `store` under `prefix`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        Archive {
            store,
            prefix,
            writers: Mutex::new(HashMap::new()),
        }
    }

    fn folder(&self, gig: GigId) -> Path {
        self.prefix.clone().join(gig.to_string())
    }

    fn manifest_path(&self, gig: GigId) -> Path {
        self.folder(gig).join("manifest.json")
    }

    fn segment_path(&self, gig: GigId, number: u64) -> Path {
        self.folder(gig).join(format!("{number:010}.flv"))
    }

    /// The lock a writer of `gig`'s recording holds while it writes.
    pub fn writer_lock(&self, gig: GigId) -> Arc<tokio::sync::Mutex<()>> {
        let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(writers.entry(gig).or_default())
    }

    /// The manifest of `gig`'s recording; `None` when there is none (never recorded, or
    /// deleted).
    ///
    /// # Errors
    /// Storage failures and damaged manifests.
    pub async fn manifest(&self, gig: GigId) -> Result<Option<Manifest>, ArchiveError> {
        match self.store.get(&self.manifest_path(gig)).await {
            Ok(found) => Ok(Some(Manifest::from_json(&found.bytes().await?)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Stores `manifest` (replacing the previous one in one step: readers see the old or the
    /// new, never a mixture).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn put_manifest(&self, manifest: &Manifest) -> Result<(), ArchiveError> {
        let bytes = manifest.to_json()?;
        self.store
            .put(&self.manifest_path(manifest.gig_id), bytes.into())
            .await?;
        Ok(())
    }

    /// Stores segment `number` of `gig`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn put_segment(
        &self,
        gig: GigId,
        number: u64,
        bytes: Bytes,
    ) -> Result<(), ArchiveError> {
        self.store
            .put(&self.segment_path(gig, number), bytes.into())
            .await?;
        Ok(())
    }

    /// Bytes `range` of segment `number` of `gig`.
    ///
    /// # Errors
    /// Storage failures, and a segment deleted meanwhile (`NotFound`).
    pub async fn segment_range(
        &self,
        gig: GigId,
        number: u64,
        range: Range<u64>,
    ) -> Result<Bytes, ArchiveError> {
        Ok(self
            .store
            .get_range(&self.segment_path(gig, number), range)
            .await?)
    }

    /// Deletes segments of `gig` (trimmed from its start); a missing one is no error.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn delete_segments(&self, gig: GigId, numbers: &[u64]) -> Result<(), ArchiveError> {
        for number in numbers {
            match self.store.delete(&self.segment_path(gig, *number)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    /// Deletes `gig`'s recording: the manifest first (so it is gone for readers at once),
    /// then every object of its folder. Returns whether there was one.
    ///
    /// # Errors
    /// Storage failures (what was deleted stays deleted; deleting again finishes the job).
    pub async fn delete(&self, gig: GigId) -> Result<bool, ArchiveError> {
        let existed = match self.store.delete(&self.manifest_path(gig)).await {
            Ok(()) => true,
            Err(object_store::Error::NotFound { .. }) => false,
            Err(other) => return Err(other.into()),
        };
        let folder = self.folder(gig);
        let objects: Vec<_> = self.store.list(Some(&folder)).try_collect().await?;
        for object in &objects {
            match self.store.delete(&object.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(existed || !objects.is_empty())
    }
}
