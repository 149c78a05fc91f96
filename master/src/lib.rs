//! The Alluxio master: namespace, journal, worker registry and their RPC
//! services. The binary in `main.rs` only parses arguments and calls
//! `server::run`.

pub mod block_master;
pub mod checkpointer;
pub mod election;
pub mod fs_master;
pub mod metrics;
pub mod namespace;
pub mod recovery;
pub mod role;
pub mod server;
pub mod service;
pub mod settings;
