//! The on-disk frame: `length u32 | crc32c u32 | term u64 | payload`, all
//! little-endian. The CRC covers the term and the payload, so a torn write, a
//! flipped bit or a truncated file is detected and reported with its offset.

use bytes::{BufMut, Bytes, BytesMut};

/// Bytes before the payload.
pub const HEADER_LEN: usize = 16;
/// Largest payload accepted; anything bigger is treated as corruption.
pub const MAX_PAYLOAD: usize = 256 << 20;

/// Appends one frame holding `payload` written in `term`.
pub fn encode(out: &mut BytesMut, term: u64, payload: &[u8]) {
    let term_bytes = term.to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&term_bytes), payload);
    out.reserve(HEADER_LEN + payload.len());
    out.put_u32_le(payload.len() as u32);
    out.put_u32_le(crc);
    out.put_slice(&term_bytes);
    out.put_slice(payload);
}

/// Why a frame could not be decoded, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Byte offset of the frame's start inside the object.
    pub offset: u64,
    pub reason: String,
    /// The data ends inside this frame (a torn write), as opposed to a frame
    /// whose bytes are wrong.
    pub truncated: bool,
}

/// Iterates over the frames of one object, yielding `(offset, term, payload)`.
pub struct Frames {
    data: Bytes,
    pos: usize,
}

impl Frames {
    /// Starts decoding `data`.
    pub fn new(data: Bytes) -> Self {
        Frames { data, pos: 0 }
    }
}

impl Iterator for Frames {
    type Item = Result<(u64, u64, Bytes), FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.len() - self.pos;
        if rest == 0 {
            return None;
        }
        let offset = self.pos as u64;
        let fail = |reason: String| {
            Some(Err(FrameError {
                offset,
                reason,
                truncated: false,
            }))
        };
        let cut = |reason: String| {
            Some(Err(FrameError {
                offset,
                reason,
                truncated: true,
            }))
        };
        if rest < HEADER_LEN {
            self.pos = self.data.len();
            return cut(format!(
                "truncated frame header ({rest} of {HEADER_LEN} bytes)"
            ));
        }
        let h = &self.data[self.pos..self.pos + HEADER_LEN];
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let term = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        if len > MAX_PAYLOAD {
            self.pos = self.data.len();
            return fail(format!(
                "frame length {len} exceeds the limit {MAX_PAYLOAD}"
            ));
        }
        if rest - HEADER_LEN < len {
            self.pos = self.data.len();
            return cut(format!(
                "truncated frame: payload of {len} bytes but only {} remain",
                rest - HEADER_LEN
            ));
        }
        let start = self.pos + HEADER_LEN;
        let payload = self.data.slice(start..start + len);
        let actual = crc32c::crc32c_append(crc32c::crc32c(&h[8..16]), &payload);
        if actual != crc {
            self.pos = self.data.len();
            return fail(format!(
                "checksum mismatch (stored {crc:#010x}, computed {actual:#010x})"
            ));
        }
        self.pos = start + len;
        Some(Ok((offset, term, payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_frames() -> Bytes {
        let mut b = BytesMut::new();
        encode(&mut b, 3, b"hello");
        encode(&mut b, 4, b"");
        b.freeze()
    }

    #[test]
    fn round_trip() {
        let frames: Vec<_> = Frames::new(two_frames()).map(Result::unwrap).collect();
        assert_eq!(frames[0], (0, 3, Bytes::from_static(b"hello")));
        assert_eq!(frames[1], (21, 4, Bytes::new()));
    }

    #[test]
    fn detects_every_single_byte_flip() {
        let data = two_frames();
        for i in 0..data.len() {
            let mut bad = data.to_vec();
            bad[i] ^= 0x40;
            let result: Result<Vec<_>, _> = Frames::new(Bytes::from(bad)).collect();
            assert!(result.is_err(), "flip at {i} not detected");
        }
    }

    #[test]
    fn detects_truncation_with_offset() {
        let data = two_frames();
        for cut in 1..data.len() {
            if cut == 21 {
                continue; // a clean frame boundary
            }
            let result: Result<Vec<_>, _> = Frames::new(data.slice(..cut)).collect();
            let err = result.unwrap_err();
            assert_eq!(err.offset, if cut < 21 { 0 } else { 21 }, "cut at {cut}");
            assert!(err.truncated, "cut at {cut}");
        }
    }
}
