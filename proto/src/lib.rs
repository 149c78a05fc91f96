//! Wire and journal message definitions generated from `proto/`, and their
//! descriptors. Nothing else lives here: conversions to domain types belong
//! to the receiving crates.

#![allow(clippy::all, clippy::pedantic)]

/// Messages and services of the `alluxio` package.
pub mod alluxio {
    tonic::include_proto!("alluxio");

    /// Persisted journal entries and checkpoint records.
    pub mod journal {
        tonic::include_proto!("alluxio.journal");
    }
}

pub use alluxio::*;

/// The encoded `FileDescriptorSet` of every message and service above
/// (without comments), for the wire-compatibility test.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
