//! The chat rate limit: a token bucket per person per room (burst 5, then 1 per second).
//!
//! Time is `tokio::time::Instant`, so tests drive it with `tokio::time::pause()`.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: holds at most `burst` tokens, gains one every `refill`, and each message
/// takes one.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    burst: u32,
    refill: Duration,
    /// Whole tokens available at `since`.
    tokens: u32,
    /// When the partial token now accruing started.
    since: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: u32, refill: Duration, now: Instant) -> Self {
        TokenBucket {
            burst,
            refill,
            tokens: burst,
            since: now,
        }
    }

    /// Takes a token at `now`.
    ///
    /// # Errors
    /// How long until the next token when the bucket is empty.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.catch_up(now);
        if self.tokens == 0 {
            return Err((self.since + self.refill).saturating_duration_since(now));
        }
        self.tokens -= 1;
        Ok(())
    }

    fn catch_up(&mut self, now: Instant) {
        if self.tokens >= self.burst {
            // A full bucket accrues nothing: the refill clock starts at the next take.
            self.since = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.since);
        let earned = elapsed.as_nanos() / self.refill.as_nanos().max(1);
        if earned == 0 {
            return;
        }
        let earned = u32::try_from(earned).unwrap_or(u32::MAX);
        if self.tokens.saturating_add(earned) >= self.burst {
            self.tokens = self.burst;
            self.since = now;
        } else {
            self.tokens += earned;
            self.since += self.refill * earned;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn five_at_once_then_one_per_second() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(5, SECOND, start);
        for _ in 0..5 {
            assert_eq!(bucket.take(start), Ok(()));
        }
        assert_eq!(bucket.take(start), Err(SECOND));
        let later = start + Duration::from_millis(400);
        assert_eq!(bucket.take(later), Err(Duration::from_millis(600)));
        assert_eq!(bucket.take(start + SECOND), Ok(()));
        assert!(bucket.take(start + SECOND).is_err());
        assert_eq!(bucket.take(start + SECOND * 2), Ok(()));
    }

    #[test]
    fn an_idle_bucket_refills_to_the_burst_and_no_further() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(5, SECOND, start);
        for _ in 0..5 {
            bucket.take(start).unwrap();
        }
        let much_later = start + SECOND * 3600;
        for _ in 0..5 {
            assert_eq!(bucket.take(much_later), Ok(()));
        }
        assert!(bucket.take(much_later).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn paused_time_drives_it() {
        let mut bucket = TokenBucket::new(1, SECOND, Instant::now());
        bucket.take(Instant::now()).unwrap();
        assert!(bucket.take(Instant::now()).is_err());
        tokio::time::advance(SECOND).await;
        assert_eq!(bucket.take(Instant::now()), Ok(()));
    }
}
