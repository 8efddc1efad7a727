//! How long to wait before trying again after failures in a row: the chat's reconnections
//! and the catalogue's reloads share it.

/// The longest pause between attempts.
const MAX_BACKOFF_SECONDS: u64 = 15;

/// The seconds to wait before attempt `attempt` (1, 2, 3…): 1, 2, 4, 8, then 15.
pub fn backoff_seconds(attempt: u32) -> u64 {
    2_u64
        .saturating_pow(attempt.saturating_sub(1))
        .min(MAX_BACKOFF_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_fifteen_seconds() {
        let pauses: Vec<_> = (1..=7).map(backoff_seconds).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 15, 15, 15]);
    }
}
