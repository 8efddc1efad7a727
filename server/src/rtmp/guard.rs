//! `ChunkGuard`: reads the peer's chunk stream ahead of rml_rtmp to enforce what rml_rtmp does
//! not: it applies any Set Chunk Size a peer announces (up to 2 GiB) without telling us, so a
//! stranger could make it wait for, and buffer, enormous chunks. The guard decodes messages
//! with its own deserializer, follows the peer's legitimate chunk-size changes, and refuses
//! absurd ones before the session sees them.

use rml_rtmp::chunk_io::ChunkDeserializer;

/// RTMP message type of Set Chunk Size.
const SET_CHUNK_SIZE: u8 = 1;

/// Why the guard refused the stream.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The peer announced a chunk size over the ceiling.
    #[error("chunk size {size} is over the {max}-byte ceiling")]
    ChunkTooLarge {
        /// What the peer announced.
        size: u32,
        /// The ceiling.
        max: u32,
    },
    /// The bytes are not an RTMP chunk stream.
    #[error("malformed chunk stream: {0}")]
    Malformed(String),
}

/// Follows one peer's chunk stream.
pub struct ChunkGuard {
    deserializer: ChunkDeserializer,
    max_chunk_size: u32,
}

impl ChunkGuard {
    /// A guard allowing chunk sizes up to `max_chunk_size`.
    pub fn new(max_chunk_size: u32) -> Self {
        ChunkGuard {
            deserializer: ChunkDeserializer::new(),
            max_chunk_size,
        }
    }

    /// Checks the next bytes of the stream (call before handing them to the session).
    ///
    /// # Errors
    /// An absurd chunk size or a malformed stream.
    pub fn inspect(&mut self, bytes: &[u8]) -> Result<(), GuardError> {
        let mut input = bytes;
        loop {
            let message = self
                .deserializer
                .get_next_message(input)
                .map_err(|e| GuardError::Malformed(e.to_string()))?;
            input = &[];
            let Some(message) = message else {
                return Ok(());
            };
            if message.type_id != SET_CHUNK_SIZE {
                continue;
            }
            let Some(raw) = message.data.get(..4) else {
                return Err(GuardError::Malformed("short Set Chunk Size".into()));
            };
            let size = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) & 0x7FFF_FFFF;
            if size > self.max_chunk_size || size == 0 {
                return Err(GuardError::ChunkTooLarge {
                    size,
                    max: self.max_chunk_size,
                });
            }
            self.deserializer
                .set_max_chunk_size(size as usize)
                .map_err(|e| GuardError::Malformed(e.to_string()))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Set Chunk Size message in one type-0 chunk on chunk stream 2.
    fn set_chunk_size(size: u32) -> Vec<u8> {
        let mut bytes = vec![0x02, 0, 0, 0, 0, 0, 4, SET_CHUNK_SIZE, 0, 0, 0, 0];
        bytes.extend_from_slice(&size.to_be_bytes());
        bytes
    }

    #[test]
    fn follows_sane_chunk_sizes_and_refuses_absurd_ones() {
        let mut guard = ChunkGuard::new(1 << 20);
        guard.inspect(&set_chunk_size(4096)).unwrap();
        // A 5,000-byte message now arrives in chunks of 4,096: the guard keeps following.
        let mut video = vec![0x06, 0, 0, 0, 0, 0x13, 0x88, 9, 1, 0, 0, 0];
        video.extend(std::iter::repeat_n(0u8, 4096));
        video.push(0xC6);
        video.extend(std::iter::repeat_n(0u8, 5000 - 4096));
        guard.inspect(&video).unwrap();
        assert!(matches!(
            guard.inspect(&set_chunk_size(0x7FFF_FFFF)),
            Err(GuardError::ChunkTooLarge {
                size: 0x7FFF_FFFF,
                ..
            })
        ));
    }

    #[test]
    fn split_input_is_followed_byte_by_byte() {
        let mut guard = ChunkGuard::new(1 << 20);
        for byte in set_chunk_size(1 << 21) {
            if let Err(error) = guard.inspect(&[byte]) {
                assert!(matches!(error, GuardError::ChunkTooLarge { .. }));
                return;
            }
        }
        panic!("the absurd chunk size was not caught");
    }
}
