//! Decoding log objects: every frame's CRC, known entry types, and where a
//! frame is cut short. Whether a cut is a torn tail (a write the crash or a
//! concurrent reader caught half done) or damage depends on where it lies in
//! the log, which `recovery.rs` decides.

use alluxio_proto::journal::JournalEntry;
use bytes::Bytes;
use prost::Message;

use super::error::JournalError;
use super::frame::Frames;

/// Where replay stands: the object the last applied entry came from, the
/// byte offset just after that entry's frame, and the object's term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub start: u64,
    pub offset: u64,
    pub term: u64,
}

/// One decoded entry.
#[derive(Debug)]
pub struct Frame {
    pub term: u64,
    pub entry: JournalEntry,
    /// Offset just after this frame in its object.
    pub end: u64,
}

/// A frame that could not be decoded.
#[derive(Debug)]
pub struct BadFrame {
    pub offset: u64,
    pub reason: String,
    /// The data ends inside the frame.
    pub truncated: bool,
}

impl BadFrame {
    /// The error reporting this frame of object `file`.
    pub fn error(&self, file: &str) -> JournalError {
        JournalError::Corrupt {
            file: file.to_string(),
            offset: self.offset,
            reason: self.reason.clone(),
        }
    }
}

/// Decodes the bytes of an object from offset `base` on, one frame at a
/// time (a segment may hold millions); stops after the first bad frame.
pub struct Decoder {
    frames: Frames,
    base: u64,
    done: bool,
}

/// Decodes `data`, the bytes of an object from offset `base` on.
pub fn decode(data: Bytes, base: u64) -> Decoder {
    Decoder {
        frames: Frames::new(data),
        base,
        done: false,
    }
}

impl Iterator for Decoder {
    type Item = Result<Frame, BadFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (offset, term, payload) = match self.frames.next()? {
            Ok(f) => f,
            Err(e) => {
                self.done = true;
                return Some(Err(BadFrame {
                    offset: self.base + e.offset,
                    reason: e.reason,
                    truncated: e.truncated,
                }));
            }
        };
        let offset = self.base + offset;
        let end = offset + (super::frame::HEADER_LEN + payload.len()) as u64;
        let bad = |reason: String| BadFrame {
            offset,
            reason,
            truncated: false,
        };
        let item = match JournalEntry::decode(payload) {
            Ok(entry) if entry.entry.is_some() => Ok(Frame { term, entry, end }),
            Ok(_) => Err(bad(
                "unknown entry type (written by a newer version of the master?)".into(),
            )),
            Err(e) => Err(bad(format!("undecodable entry: {e}"))),
        };
        self.done = item.is_err();
        Some(item)
    }
}

/// The term an object was written in (that of its first frame). An object
/// is published whole with its first batch, so a missing first frame is
/// damage.
pub fn first_term(name: &str, data: &Bytes) -> Result<u64, JournalError> {
    match Frames::new(data.clone()).next() {
        Some(Ok((_, term, _))) => Ok(term),
        Some(Err(e)) => Err(JournalError::Corrupt {
            file: name.to_string(),
            offset: e.offset,
            reason: e.reason,
        }),
        None => Err(JournalError::Corrupt {
            file: name.to_string(),
            offset: 0,
            reason: "empty log object".to_string(),
        }),
    }
}
