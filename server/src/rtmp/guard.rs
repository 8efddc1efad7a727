//! `ChunkGuard`: reads the peer's chunk stream ahead of rml_rtmp and refuses, before the session
//! sees it, what rml_rtmp would take without limits:
//! - a Set Chunk Size up to 2 GiB (it would wait for, and buffer, enormous chunks): the guard
//!   follows the peer's legitimate chunk-size changes and refuses absurd ones;
//! - AMF in data and command messages (types 15, 17, 18, 20): rml_rtmp decodes them with
//!   rml_amf0, which recurses once per nested array or object with no limit, so one small
//!   message of nested arrays overflows the stack and aborts the process. The guard decodes
//!   each with [`amf0::decode`] within [`AMF_LIMITS`] (depth, value count, size) first, and
//!   makes sure the values rml_rtmp takes without looking are there; shared-object messages
//!   (16, 19), which nothing we serve uses, are refused outright;
//! - bytes that never complete a message: until [`ChunkGuard::allow_media`] (a granted publish)
//!   only small control and command messages are expected, afterwards media messages of up to
//!   [`MAX_MEDIA_MESSAGE`] (the largest frame a real encoder sends), and no message over it.
//!
//! The guard deserializes with rml_rtmp's own `ChunkDeserializer`, so it sees exactly the
//! messages the session will; that deserializer panics on some malformed chunk sequences (an
//! unchecked subtraction when a header changes a message's length midway), which the guard
//! turns into [`GuardError::Malformed`] so that the session never meets those bytes.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::panic::{AssertUnwindSafe, catch_unwind};

use bookmygig_media::amf0::{self, Amf0Value};
use rml_rtmp::chunk_io::ChunkDeserializer;

/// RTMP message type of Set Chunk Size.
const SET_CHUNK_SIZE: u8 = 1;
/// AMF3 data, AMF3 shared object, AMF3 command, AMF0 data, AMF0 shared object, AMF0 command.
const AMF3_DATA: u8 = 15;
const AMF3_SHARED_OBJECT: u8 = 16;
const AMF3_COMMAND: u8 = 17;
const AMF0_DATA: u8 = 18;
const AMF0_SHARED_OBJECT: u8 = 19;
const AMF0_COMMAND: u8 = 20;

/// What one data or command message may hold. A `connect`, `publish` or `@setDataFrame` from
/// OBS or ffmpeg is a few hundred bytes, a few dozen values, two levels deep.
pub const AMF_LIMITS: amf0::Limits = amf0::Limits {
    max_depth: 8,
    max_values: 1024,
    max_bytes: 64 * 1024,
};
/// Most bytes a peer that is not publishing may send without completing a message (a few of
/// the largest command messages).
pub const MAX_PENDING_BEFORE_PUBLISH: usize = 256 * 1024;
/// Largest message a publisher may send: [`MAX_TAG_BYTES`](crate::live::stream::MAX_TAG_BYTES)
/// (8 MiB), the largest media tag the fan-out takes.
pub const MAX_MEDIA_MESSAGE: usize = crate::live::stream::MAX_TAG_BYTES;
/// Most bytes a publisher may send without completing a message: [`MAX_MEDIA_MESSAGE`] and its
/// chunk headers (an eighth more covers chunks of 128 bytes, the smallest any encoder uses,
/// even with extended timestamps).
pub const MAX_PENDING_WHILE_PUBLISHING: usize = MAX_MEDIA_MESSAGE + MAX_MEDIA_MESSAGE / 8;

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
    /// A data or command message whose AMF is malformed or over [`AMF_LIMITS`].
    #[error("message type {type_id}: {reason}")]
    Amf {
        /// The RTMP message type.
        type_id: u8,
        /// What is wrong with its AMF.
        reason: bookmygig_media::MediaError,
    },
    /// A shared-object message (not served).
    #[error("shared-object messages (type {0}) are not served")]
    SharedObject(u8),
    /// Too many bytes without a complete message.
    #[error("over {max} bytes without a complete message")]
    MessageTooLarge {
        /// The ceiling in force.
        max: usize,
    },
    /// A complete message over the size ceiling in force.
    #[error("a {size}-byte message is over the {max}-byte ceiling")]
    MediaTooLarge {
        /// The message's size.
        size: usize,
        /// The ceiling in force ([`MAX_MEDIA_MESSAGE`] once publishing).
        max: usize,
    },
}

/// Follows one peer's chunk stream.
pub struct ChunkGuard {
    deserializer: ChunkDeserializer,
    max_chunk_size: u32,
    /// Bytes taken since the last complete message.
    pending: usize,
    /// The ceiling on `pending` in force.
    max_pending: usize,
    /// The ceiling on a complete message in force.
    max_message: usize,
}

impl ChunkGuard {
    /// A guard allowing chunk sizes up to `max_chunk_size`, for a peer not yet publishing.
    pub fn new(max_chunk_size: u32) -> Self {
        ChunkGuard {
            deserializer: ChunkDeserializer::new(),
            max_chunk_size,
            pending: 0,
            max_pending: MAX_PENDING_BEFORE_PUBLISH,
            max_message: MAX_PENDING_BEFORE_PUBLISH,
        }
    }

    /// Lets the peer send media messages of up to [`MAX_MEDIA_MESSAGE`] bytes (call once its
    /// publish is granted).
    pub fn allow_media(&mut self) {
        self.max_pending = MAX_PENDING_WHILE_PUBLISHING;
        self.max_message = MAX_MEDIA_MESSAGE;
    }

    /// Checks the next bytes of the stream (call before handing them to the session).
    ///
    /// # Errors
    /// An absurd chunk size, AMF over the limits, a shared-object message, a message over the
    /// size ceiling or too many bytes without a complete one, or a malformed stream.
    pub fn inspect(&mut self, bytes: &[u8]) -> Result<(), GuardError> {
        self.pending = self.pending.saturating_add(bytes.len());
        let mut input = bytes;
        loop {
            let deserializer = &mut self.deserializer;
            let next = catch_unwind(AssertUnwindSafe(|| deserializer.get_next_message(input)))
                .map_err(|_| GuardError::Malformed("inconsistent chunk headers".into()))?;
            let message = next.map_err(|e| GuardError::Malformed(e.to_string()))?;
            input = &[];
            let Some(message) = message else {
                break;
            };
            self.pending = 0;
            if message.data.len() > self.max_message {
                return Err(GuardError::MediaTooLarge {
                    size: message.data.len(),
                    max: self.max_message,
                });
            }
            match message.type_id {
                SET_CHUNK_SIZE => self.set_chunk_size(&message.data)?,
                AMF3_SHARED_OBJECT | AMF0_SHARED_OBJECT => {
                    return Err(GuardError::SharedObject(message.type_id));
                }
                type_id => check_amf_message(type_id, &message.data)?,
            }
        }
        if self.pending > self.max_pending {
            return Err(GuardError::MessageTooLarge {
                max: self.max_pending,
            });
        }
        Ok(())
    }

    fn set_chunk_size(&mut self, data: &[u8]) -> Result<(), GuardError> {
        let Some(&[a, b, c, d]) = data.get(..4) else {
            return Err(GuardError::Malformed("short Set Chunk Size".into()));
        };
        let size = u32::from_be_bytes([a, b, c, d]) & 0x7FFF_FFFF;
        if size > self.max_chunk_size || size == 0 {
            return Err(GuardError::ChunkTooLarge {
                size,
                max: self.max_chunk_size,
            });
        }
        self.deserializer
            .set_max_chunk_size(size as usize)
            .map_err(|e| GuardError::Malformed(e.to_string()))
    }
}

/// Checks a data or command message (other types pass): its AMF within [`AMF_LIMITS`], and
/// the values rml_rtmp takes without checking that they are there (it panicked on both): a
/// command's name, transaction id and command object; the name and metadata after
/// `@setDataFrame`.
fn check_amf_message(type_id: u8, data: &[u8]) -> Result<(), GuardError> {
    let (body, command) = match (type_id, data.split_first()) {
        (AMF3_DATA | AMF0_DATA, _) => (data, false),
        // As rml_rtmp reads it: AMF0 after a leading 0 (the AMF3 "format" byte).
        (AMF3_COMMAND, Some((0, rest))) => (rest, true),
        (AMF3_COMMAND | AMF0_COMMAND, _) => (data, true),
        _ => return Ok(()),
    };
    let values =
        amf0::decode(body, &AMF_LIMITS).map_err(|reason| GuardError::Amf { type_id, reason })?;
    let set_data_frame =
        matches!(values.first(), Some(Amf0Value::String(name)) if name == "@setDataFrame");
    if (command || set_data_frame) && values.len() < 3 {
        return Err(GuardError::Malformed(if command {
            "a command needs a name, a transaction id and an object".into()
        } else {
            "@setDataFrame without its name and metadata".into()
        }));
    }
    Ok(())
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

    /// `message` in one type-0 header on chunk stream 3 and type-3 continuations every 128
    /// bytes (the default chunk size), as a peer that has just finished its handshake sends it.
    fn chunked(type_id: u8, message: &[u8]) -> Vec<u8> {
        let len = u32::try_from(message.len()).unwrap().to_be_bytes();
        let mut bytes = vec![0x03, 0, 0, 0, len[1], len[2], len[3], type_id, 0, 0, 0, 0];
        for (i, chunk) in message.chunks(128).enumerate() {
            if i > 0 {
                bytes.push(0xC3);
            }
            bytes.extend_from_slice(chunk);
        }
        bytes
    }

    /// The message that aborted the whole server through rml_amf0's recursion: a strict array
    /// of one element, nested 100,000 deep, around a null.
    fn nested_strict_arrays() -> Vec<u8> {
        let mut body: Vec<u8> = std::iter::repeat_n([0x0A, 0, 0, 0, 1], 100_000)
            .flatten()
            .collect();
        body.push(0x05);
        body
    }

    #[test]
    fn nested_amf0_command_is_refused_before_the_session_sees_it() {
        let mut guard = ChunkGuard::new(1 << 20);
        let bytes = chunked(AMF0_COMMAND, &nested_strict_arrays());
        // Fed as a socket delivers it; the guard refuses it no later than its last byte. The
        // pending ceiling may trip first (the message is larger than any command may be).
        let refused = bytes
            .chunks(4096)
            .find_map(|read| guard.inspect(read).err());
        assert!(
            matches!(
                refused,
                Some(GuardError::MessageTooLarge { .. }) | Some(GuardError::Amf { .. })
            ),
            "{refused:?}"
        );

        // Small enough to be buffered, still too deep: refused for its depth.
        let mut guard = ChunkGuard::new(1 << 20);
        let mut deep: Vec<u8> = std::iter::repeat_n([0x0A, 0, 0, 0, 1], 100)
            .flatten()
            .collect();
        deep.push(0x05);
        for type_id in [AMF0_COMMAND, AMF0_DATA, AMF3_DATA] {
            assert!(matches!(
                guard.inspect(&chunked(type_id, &deep)),
                Err(GuardError::Amf {
                    reason: bookmygig_media::MediaError::Amf0TooDeep(8),
                    ..
                })
            ));
        }
        // An AMF3 command carries AMF0 after its format byte, as rml_rtmp reads it.
        let mut amf3 = vec![0];
        amf3.extend_from_slice(&deep);
        assert!(matches!(
            ChunkGuard::new(1 << 20).inspect(&chunked(AMF3_COMMAND, &amf3)),
            Err(GuardError::Amf { type_id: 17, .. })
        ));
    }

    #[test]
    fn real_commands_and_media_pass() {
        use bookmygig_media::amf0::{Amf0Value, encode};
        let mut guard = ChunkGuard::new(1 << 20);
        let connect = encode(&[
            Amf0Value::String("connect".into()),
            Amf0Value::Number(1.0),
            Amf0Value::Object(vec![("app".into(), Amf0Value::String("live".into()))]),
        ]);
        guard.inspect(&chunked(AMF0_COMMAND, &connect)).unwrap();
        let mut amf3 = vec![0];
        amf3.extend_from_slice(&connect);
        guard.inspect(&chunked(AMF3_COMMAND, &amf3)).unwrap();
        // Media larger than any command once publishing is allowed.
        guard.allow_media();
        guard.inspect(&chunked(9, &vec![0x17; 1 << 20])).unwrap();
    }

    #[test]
    fn a_publisher_sends_media_up_to_the_ceiling_and_not_a_byte_more() {
        let mut guard = ChunkGuard::new(1 << 20);
        guard.allow_media();
        // In chunks of 128 bytes, the smallest an encoder uses: the headers fit the allowance.
        guard
            .inspect(&chunked(9, &vec![0x27; MAX_MEDIA_MESSAGE]))
            .unwrap();
        let over = chunked(9, &vec![0x27; MAX_MEDIA_MESSAGE + 1]);
        let refused = over
            .chunks(64 * 1024)
            .find_map(|read| guard.inspect(read).err());
        assert!(
            matches!(
                refused,
                Some(GuardError::MediaTooLarge { size, max: MAX_MEDIA_MESSAGE })
                    if size == MAX_MEDIA_MESSAGE + 1
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn a_bare_set_data_frame_is_refused_and_a_whole_one_passes() {
        use bookmygig_media::amf0::{Amf0Value, encode};
        let name = Amf0Value::String("@setDataFrame".into());
        let meta = Amf0Value::String("onMetaData".into());
        for values in [vec![name.clone()], vec![name.clone(), meta.clone()]] {
            assert!(matches!(
                ChunkGuard::new(1 << 20).inspect(&chunked(AMF0_DATA, &encode(&values))),
                Err(GuardError::Malformed(_))
            ));
        }
        let whole = encode(&[name, meta, Amf0Value::EcmaArray(vec![])]);
        ChunkGuard::new(1 << 20)
            .inspect(&chunked(AMF0_DATA, &whole))
            .unwrap();
    }

    /// Found by the `rtmp_server` fuzz target: rml_rtmp drains a command's first three values
    /// unchecked, so `createStream` with only a transaction id panicked, before any connect.
    #[test]
    fn a_command_of_fewer_than_three_values_is_refused_not_a_panic() {
        use bookmygig_media::amf0::{Amf0Value, encode};
        let short = encode(&[
            Amf0Value::String("createStream".into()),
            Amf0Value::Number(2.0),
        ]);
        let mut amf3 = vec![0];
        amf3.extend_from_slice(&short);
        for (type_id, body) in [(AMF0_COMMAND, &short), (AMF3_COMMAND, &amf3)] {
            assert!(matches!(
                ChunkGuard::new(1 << 20).inspect(&chunked(type_id, body)),
                Err(GuardError::Malformed(_))
            ));
        }
        let whole = encode(&[
            Amf0Value::String("createStream".into()),
            Amf0Value::Number(2.0),
            Amf0Value::Null,
        ]);
        ChunkGuard::new(1 << 20)
            .inspect(&chunked(AMF0_COMMAND, &whole))
            .unwrap();
    }

    #[test]
    fn shared_objects_are_refused() {
        for type_id in [AMF3_SHARED_OBJECT, AMF0_SHARED_OBJECT] {
            assert!(matches!(
                ChunkGuard::new(1 << 20).inspect(&chunked(type_id, &[0; 16])),
                Err(GuardError::SharedObject(t)) if t == type_id
            ));
        }
    }

    #[test]
    fn a_message_claiming_16_mib_is_cut_off_before_publish() {
        let mut guard = ChunkGuard::new(1 << 20);
        // A video message claiming 16 MiB, then data that never ends.
        assert!(
            guard
                .inspect(&[0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0])
                .is_ok()
        );
        let mut refused = None;
        let mut sent = 0usize;
        while refused.is_none() && sent < 1 << 20 {
            let mut read = vec![0u8; 128];
            read.push(0xC3);
            sent += read.len();
            refused = guard.inspect(&read).err();
        }
        assert!(
            matches!(refused, Some(GuardError::MessageTooLarge { max }) if max == MAX_PENDING_BEFORE_PUBLISH),
            "{refused:?}"
        );
        assert!(sent <= MAX_PENDING_BEFORE_PUBLISH + 129);
    }

    #[test]
    fn a_header_that_changes_a_message_midway_is_refused_not_a_panic() {
        let mut guard = ChunkGuard::new(1 << 20);
        // 128 of a 1,000-byte message on chunk stream 3 ...
        let mut bytes = vec![0x03, 0, 0, 0, 0, 0x03, 0xE8, 9, 1, 0, 0, 0];
        bytes.extend_from_slice(&[0; 128]);
        // ... then a 10-byte message on chunk stream 4: rml_rtmp's one payload buffer is
        // already longer than the new message.
        bytes.extend_from_slice(&[0x04, 0, 0, 0, 0, 0, 10, 9, 1, 0, 0, 0]);
        bytes.extend_from_slice(&[0; 10]);
        bytes.extend_from_slice(&[0; 4096]);
        assert!(matches!(
            guard.inspect(&bytes),
            Err(GuardError::Malformed(_)) | Err(GuardError::MessageTooLarge { .. })
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
