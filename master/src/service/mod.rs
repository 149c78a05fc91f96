//! gRPC glue: unpack requests, call the masters, pack replies. Errors become
//! `tonic::Status` through `FsError`'s one conversion.

pub mod block;
pub mod fs;

/// Largest message the services accept or send (big listings, block reports).
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;
