//! Media as RTMP chunks that depend on nothing a connection remembers, so that one encoding of
//! a segment serves every player of a gig, as its FLV bytes serve every HTTP-FLV viewer.
//!
//! rml_rtmp's serializer compresses each message header against the previous one on the same
//! chunk stream, so its bytes depend on what that one connection was sent before and cannot be
//! shared. Here every message starts with a full (type 0) header carrying its absolute
//! timestamp and goes on in type 3 chunks, on chunk streams rml_rtmp never uses (it takes 2 to 6
//! for control, commands and its own data), so its compression on those stays right. The cost
//! is 12 header bytes per message instead of 1 to 8: under 0.1 % of a 720p stream.
//!
//! The bytes are the same for every player with the same chunk size (the server announces
//! [`CHUNK_SIZE`] to all of them) and message stream id ([`SHARED_STREAM_ID`], the one a
//! player's first `createStream` gets); a player on another stream id gets its own encoding.

use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::MediaTag;
use bytes::{BufMut, Bytes, BytesMut};

/// The chunk size the server announces to every peer and writes its chunks in.
pub const CHUNK_SIZE: u32 = 4096;
/// The message stream id of a player's first `createStream` (rml_rtmp counts from 1): the
/// stream whose encoding is shared.
pub const SHARED_STREAM_ID: u32 = 1;
/// Chunk stream of data messages (metadata).
const CSID_DATA: u8 = 7;
/// Chunk stream of video messages.
const CSID_VIDEO: u8 = 8;
/// Chunk stream of audio messages.
const CSID_AUDIO: u8 = 9;
/// RTMP message type of audio.
const TYPE_AUDIO: u8 = 8;
/// RTMP message type of video.
const TYPE_VIDEO: u8 = 9;
/// RTMP message type of AMF0 data.
const TYPE_DATA_AMF0: u8 = 18;
/// Largest timestamp the 3-byte field holds; larger ones go in the extended field.
const EXTENDED_TIMESTAMP: u32 = 0xFF_FFFF;
/// Largest message the 3-byte length field holds (a tag is far smaller: see
/// `live::stream::MAX_TAG_BYTES`).
const MAX_MESSAGE_LEN: usize = 0xFF_FFFF;

/// Appends `tag` as one RTMP message on `stream_id`. A script tag carries `metadata` (the
/// stream's metadata for players as of now) when it is the stream's metadata, and its own
/// payload otherwise. Returns whether anything was appended (a message too long for RTMP's
/// length field is not; no real tag is).
pub fn append_tag(
    out: &mut BytesMut,
    tag: &MediaTag,
    stream_id: u32,
    metadata: &mut dyn FnMut() -> Bytes,
) -> bool {
    let (csid, type_id) = match tag.kind {
        TagKind::Video => (CSID_VIDEO, TYPE_VIDEO),
        TagKind::Audio => (CSID_AUDIO, TYPE_AUDIO),
        TagKind::Script => (CSID_DATA, TYPE_DATA_AMF0),
    };
    if tag.metadata {
        let payload = metadata();
        append_message(out, csid, type_id, tag.timestamp_ms, stream_id, &payload)
    } else {
        append_message(
            out,
            csid,
            type_id,
            tag.timestamp_ms,
            stream_id,
            &tag.payload,
        )
    }
}

/// Appends the stream's metadata (`payload`, an `onMetaData` AMF0 body) at `timestamp_ms`.
pub fn append_metadata(out: &mut BytesMut, payload: &[u8], timestamp_ms: u32, stream_id: u32) {
    append_message(
        out,
        CSID_DATA,
        TYPE_DATA_AMF0,
        timestamp_ms,
        stream_id,
        payload,
    );
}

/// Bytes a message of `payload_len` bytes takes as chunks, for sizing a buffer: at most, and
/// exactly when its timestamp needs the extended field.
pub fn encoded_len(payload_len: usize) -> usize {
    let chunks = payload_len.div_ceil(CHUNK_SIZE as usize).max(1);
    // A full header (1 + 11), 1 byte per further chunk, 4 more per chunk if extended.
    12 + (chunks - 1) + 4 * chunks + payload_len
}

/// One message: a type 0 chunk, then type 3 chunks of at most [`CHUNK_SIZE`] payload bytes
/// each (repeating the extended timestamp when there is one, as FFmpeg and rml_rtmp expect).
fn append_message(
    out: &mut BytesMut,
    csid: u8,
    type_id: u8,
    timestamp: u32,
    stream_id: u32,
    payload: &[u8],
) -> bool {
    if payload.len() > MAX_MESSAGE_LEN {
        return false;
    }
    let extended = timestamp >= EXTENDED_TIMESTAMP;
    out.reserve(encoded_len(payload.len()));
    // Format 0 in the top two bits; chunk stream ids 2..=63 fit the one-byte basic header.
    out.put_u8(csid);
    put_u24(
        out,
        if extended {
            EXTENDED_TIMESTAMP
        } else {
            timestamp
        },
    );
    // Checked above: the length fits 24 bits.
    put_u24(out, payload.len() as u32);
    out.put_u8(type_id);
    out.put_u32_le(stream_id);
    if extended {
        out.put_u32(timestamp);
    }
    let mut chunks = payload.chunks(CHUNK_SIZE as usize);
    if let Some(first) = chunks.next() {
        out.put_slice(first);
    }
    for chunk in chunks {
        out.put_u8(0b1100_0000 | csid);
        if extended {
            out.put_u32(timestamp);
        }
        out.put_slice(chunk);
    }
    true
}

fn put_u24(out: &mut BytesMut, value: u32) {
    let [_, high, middle, low] = value.to_be_bytes();
    out.put_slice(&[high, middle, low]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::chunk_io::ChunkDeserializer;

    fn tag(kind: TagKind, timestamp: u32, payload: Vec<u8>) -> MediaTag {
        MediaTag::new(kind, timestamp, Bytes::from(payload)).unwrap()
    }

    /// Decodes `bytes` with rml_rtmp's deserializer, as a player would.
    fn decode(bytes: &[u8]) -> Vec<(u8, u32, u32, Vec<u8>)> {
        let mut deserializer = ChunkDeserializer::new();
        deserializer
            .set_max_chunk_size(CHUNK_SIZE as usize)
            .unwrap();
        let mut messages = Vec::new();
        let mut input = bytes;
        while let Some(payload) = deserializer.get_next_message(input).unwrap() {
            input = &[];
            messages.push((
                payload.type_id,
                payload.timestamp.value,
                payload.message_stream_id,
                payload.data.to_vec(),
            ));
        }
        messages
    }

    #[test]
    fn messages_decode_alone_in_any_order_with_their_absolute_timestamps() {
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let video = tag(TagKind::Video, 40, big.clone());
        let audio = tag(TagKind::Audio, 23, vec![0xAF, 1, 2, 3]);
        let mut out = BytesMut::new();
        let mut no_metadata = || Bytes::new();
        assert!(append_tag(&mut out, &video, 1, &mut no_metadata));
        assert!(append_tag(&mut out, &audio, 1, &mut no_metadata));
        // A second, later stretch decodes after the first without relying on it.
        let mut later = BytesMut::new();
        append_tag(
            &mut later,
            &tag(TagKind::Video, 80, vec![0x27, 1]),
            1,
            &mut no_metadata,
        );
        let mut both = out.to_vec();
        both.extend_from_slice(&later);
        assert_eq!(
            decode(&both),
            vec![
                (TYPE_VIDEO, 40, 1, big),
                (TYPE_AUDIO, 23, 1, vec![0xAF, 1, 2, 3]),
                (TYPE_VIDEO, 80, 1, vec![0x27, 1]),
            ]
        );
        assert_eq!(decode(&later), vec![(TYPE_VIDEO, 80, 1, vec![0x27, 1])]);
    }

    #[test]
    fn timestamps_past_24_bits_use_the_extended_field_in_every_chunk() {
        // Past 4 h 39 min of show.
        let late = 0x0100_0000 + 7;
        let payload: Vec<u8> = (0..9_000u32).map(|i| (i * 7) as u8).collect();
        let mut out = BytesMut::new();
        append_tag(
            &mut out,
            &tag(TagKind::Video, late, payload.clone()),
            3,
            &mut Bytes::new,
        );
        assert_eq!(out.len(), encoded_len(payload.len()));
        assert_eq!(decode(&out), vec![(TYPE_VIDEO, late, 3, payload)]);
    }

    #[test]
    fn the_metadata_tag_carries_the_metadata_given_and_other_script_tags_their_own() {
        let metadata = tag(
            TagKind::Script,
            0,
            bookmygig_media::amf0::encode(&[
                bookmygig_media::amf0::Amf0Value::String("onMetaData".into()),
                bookmygig_media::amf0::Amf0Value::EcmaArray(Vec::new()),
            ]),
        );
        assert!(metadata.metadata);
        let mut out = BytesMut::new();
        append_tag(&mut out, &metadata, 1, &mut || Bytes::from_static(b"now"));
        assert_eq!(decode(&out), vec![(TYPE_DATA_AMF0, 0, 1, b"now".to_vec())]);
    }
}
