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

/// The frames of an object, or of its tail from some offset.
#[derive(Debug)]
pub struct Decoded {
    pub frames: Vec<Frame>,
    /// The first frame that did not decode; nothing after it is read.
    pub bad: Option<BadFrame>,
}

/// Decodes `data`, the bytes of an object from offset `base` on.
pub fn decode(data: Bytes, base: u64) -> Decoded {
    let mut frames = Vec::new();
    for frame in Frames::new(data) {
        let (offset, term, payload) = match frame {
            Ok(f) => f,
            Err(e) => {
                return Decoded {
                    frames,
                    bad: Some(BadFrame {
                        offset: base + e.offset,
                        reason: e.reason,
                        truncated: e.truncated,
                    }),
                }
            }
        };
        let offset = base + offset;
        let bad = |reason: String| BadFrame {
            offset,
            reason,
            truncated: false,
        };
        let entry = match JournalEntry::decode(payload.clone()) {
            Ok(e) if e.entry.is_some() => e,
            Ok(_) => {
                return Decoded {
                    frames,
                    bad: Some(bad(
                        "unknown entry type (written by a newer version of the master?)".into(),
                    )),
                }
            }
            Err(e) => {
                return Decoded {
                    frames,
                    bad: Some(bad(format!("undecodable entry: {e}"))),
                }
            }
        };
        let end = offset + (super::frame::HEADER_LEN + payload.len()) as u64;
        frames.push(Frame { term, entry, end });
    }
    Decoded { frames, bad: None }
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
