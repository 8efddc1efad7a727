//! Password hashing with argon2id (OWASP's recommended parameters, the crate's defaults),
//! bounded in time and memory.
//!
//! Every hash or check needs 19 MiB of argon2 memory and a core for tens of milliseconds. A
//! [`Hasher`] runs at most one per core at once (a semaphore), each in one of a fixed set of
//! memory areas allocated once and reused, so however many sign-ups and sign-ins arrive, the
//! hashing never holds more than cores × 19 MiB, and glibc is never asked for fresh 19 MiB
//! blocks it would keep in per-thread arenas after the burst. Callers beyond those at work
//! wait in a bounded queue; past it they are told the server is busy ([`HashError::Busy`]).
//! The work runs on the blocking pool, so it never stalls the async workers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// A hash of a password nobody has, verified against when a handle is unknown so that a
/// failed sign-in takes the same time whether or not the account exists.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lzYWx0ZGVjb3k$Xl7bqkO1V5Dd3Ohjq1iS8vx7kqPtJ0Q0aJ8VmFbH2e4";

/// Callers that may wait for a free core, per core. At tens of milliseconds a hash, a full
/// queue drains in a few seconds; past it, a caller is answered at once instead of waiting
/// longer than a person would.
pub const QUEUE_PER_CORE: usize = 128;

/// Why hashing or checking failed (never because of the password's content).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every core is hashing and the queue is full: retry in a moment.
    #[error("password hashing is busy: every core is at work and the queue is full")]
    Busy,
    /// argon2 or the blocking pool failed.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Runs argon2 with at most `slots` hashes at once, each in a reused memory area (see the
/// module doc). Shared by every handler through the app state.
#[derive(Debug)]
pub struct Hasher {
    /// One permit per hash allowed at once.
    permits: Semaphore,
    /// Most callers waiting for a permit.
    max_queued: usize,
    /// Callers waiting for a permit now.
    queued: AtomicUsize,
    /// Memory areas not in use; a permit holder takes one (or allocates one, up to `slots`).
    memory: Mutex<Vec<Vec<Block>>>,
    /// argon2 blocks (1 KiB each) per memory area: what the default parameters need.
    blocks: usize,
    /// Memory areas ever allocated, for tests: never more than the number of permits.
    allocated: AtomicUsize,
}

impl Hasher {
    /// One slot per core (`std::thread::available_parallelism`), with
    /// [`QUEUE_PER_CORE`] waiting places per core.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, cores * QUEUE_PER_CORE)
    }

    /// `slots` hashes at once (at least one), `max_queued` callers waiting.
    pub fn new(slots: usize, max_queued: usize) -> Self {
        let slots = slots.max(1);
        Hasher {
            permits: Semaphore::new(slots),
            max_queued,
            queued: AtomicUsize::new(0),
            memory: Mutex::new(Vec::with_capacity(slots)),
            blocks: Params::DEFAULT.block_count(),
            allocated: AtomicUsize::new(0),
        }
    }

    /// How many memory areas were ever allocated (at most the number of slots).
    pub fn memory_areas(&self) -> usize {
        self.allocated.load(Ordering::Relaxed)
    }

    /// Hashes `password` into a PHC string with a fresh salt.
    ///
    /// # Errors
    /// [`HashError::Busy`] when the queue is full; [`HashError::Failed`] if argon2 or the
    /// blocking pool fails.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Failed(e.to_string()))?;
        let params = Params::DEFAULT;
        let output = self
            .run(password, Algorithm::Argon2id, params.clone(), salt.clone())
            .await?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)
                .map_err(|e| HashError::Failed(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches `phc` (`None`: the account does not exist; a decoy is
    /// checked so the answer takes as long).
    ///
    /// # Errors
    /// [`HashError::Busy`] when the queue is full; [`HashError::Failed`] if the blocking pool
    /// fails. A stored hash that cannot be read is a mismatch, logged.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, HashError> {
        let exists = phc.is_some();
        let phc = phc.unwrap_or_else(|| DECOY_HASH.to_owned());
        let Some((algorithm, params, salt, expected)) = parse(&phc) else {
            tracing::warn!("a stored password hash cannot be read; the sign-in fails");
            return Ok(false);
        };
        if params.block_count() > self.blocks {
            tracing::warn!(
                m_cost = params.m_cost(),
                "a stored password hash needs more argon2 memory than a slot holds; the sign-in fails"
            );
            return Ok(false);
        }
        let output = self.run(password, algorithm, params, salt).await?;
        // `Output`'s equality is constant-time.
        Ok(exists && output == expected)
    }

    /// Computes argon2 of `password` with a permit and a memory area, on the blocking pool.
    async fn run(
        &self,
        password: String,
        algorithm: Algorithm,
        params: Params,
        salt: SaltString,
    ) -> Result<Output, HashError> {
        let _permit = self.permit().await?;
        let mut memory = self.take_memory();
        let (memory, output) = tokio::task::spawn_blocking(move || {
            let argon2 = Argon2::new(algorithm, Version::V0x13, params.clone());
            let mut salt_bytes = [0u8; 64];
            let output = salt
                .decode_b64(&mut salt_bytes)
                .map_err(|e| HashError::Failed(e.to_string()))
                .and_then(|salt| {
                    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
                    Output::init_with(len, |out| {
                        argon2
                            .hash_password_into_with_memory(
                                password.as_bytes(),
                                salt,
                                out,
                                &mut memory,
                            )
                            .map_err(Into::into)
                    })
                    .map_err(|e| HashError::Failed(e.to_string()))
                });
            (memory, output)
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?;
        self.give_back(memory);
        output
    }

    /// A permit to hash, waiting in the bounded queue when every slot is busy.
    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        let waiting = self.queued.fetch_add(1, Ordering::AcqRel);
        let _leave = LeaveQueue(&self.queued);
        if waiting >= self.max_queued {
            return Err(HashError::Busy);
        }
        self.permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))
    }

    fn take_memory(&self) -> Vec<Block> {
        let reused = self.memory.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_else(|| {
            self.allocated.fetch_add(1, Ordering::Relaxed);
            vec![Block::default(); self.blocks]
        })
    }

    fn give_back(&self, memory: Vec<Block>) {
        if let Ok(mut free) = self.memory.lock() {
            free.push(memory);
        }
    }
}

/// Leaves the queue when dropped, whether the wait ended with a permit, a refusal or the
/// caller going away.
struct LeaveQueue<'a>(&'a AtomicUsize);

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The algorithm, parameters, salt and hash of a PHC string we can check.
fn parse(phc: &str) -> Option<(Algorithm, Params, SaltString, Output)> {
    let parsed = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    if parsed
        .version
        .is_some_and(|v| v != u32::from(Version::V0x13))
    {
        return None;
    }
    let expected = parsed.hash?;
    let params = Params::try_from(&parsed).ok()?;
    let salt = SaltString::from_b64(parsed.salt?.as_str()).ok()?;
    Some((algorithm, params, salt, expected))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_never_contain_the_password() {
        let hasher = Hasher::new(2, 8);
        let phc = hasher.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!phc.contains("correct horse"));
        assert!(
            hasher
                .verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_itself_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::encode_b64(b"sixteen bytes!!!").unwrap();
        let phc = Argon2::default()
            .hash_password(b"older account", &salt)
            .unwrap()
            .to_string();
        let hasher = Hasher::new(1, 8);
        assert!(
            hasher
                .verify("older account".into(), Some(phc))
                .await
                .unwrap()
        );
    }

    #[test]
    fn decoy_is_a_valid_phc_string_with_the_parameters_hashes_are_made_with() {
        let (algorithm, params, _, _) = parse(DECOY_HASH).unwrap();
        assert_eq!(algorithm, Algorithm::Argon2id);
        assert_eq!(params.m_cost(), Params::DEFAULT.m_cost());
        assert_eq!(params.t_cost(), Params::DEFAULT.t_cost());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_reuses_one_memory_area_per_slot() {
        let hasher = Arc::new(Hasher::new(2, 64));
        let checks = (0..24).map(|i| {
            let hasher = Arc::clone(&hasher);
            tokio::spawn(async move { hasher.verify(format!("guess {i}"), None).await })
        });
        for check in futures::future::join_all(checks).await {
            assert!(!check.unwrap().unwrap());
        }
        assert!((1..=2).contains(&hasher.memory_areas()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn past_the_queue_callers_are_told_it_is_busy() {
        let hasher = Arc::new(Hasher::new(1, 2));
        let checks = (0..12).map(|i| {
            let hasher = Arc::clone(&hasher);
            tokio::spawn(async move { hasher.verify(format!("guess {i}"), None).await })
        });
        let results: Vec<_> = futures::future::join_all(checks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(HashError::Busy)))
            .count();
        let done = results.iter().filter(|r| matches!(r, Ok(false))).count();
        assert_eq!(busy + done, 12);
        assert!(
            busy >= 1,
            "one running and two waiting leave nine to refuse"
        );
        assert!(done >= 3);
        // Once the burst is over, the hasher serves again.
        assert!(!hasher.verify("later".into(), None).await.unwrap());
    }
}
