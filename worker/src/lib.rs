//! The Alluxio worker: a tiered block cache on local storage that serves
//! block reads and writes over gRPC, reads through to the UFS on a miss, and
//! reports its blocks to the leading master.
//!
//! Code map: [`settings`] (configuration → typed settings), [`block_store`]
//! (block files, space, LRU eviction), [`service`] (the `BlockWorker` RPCs),
//! [`ufs_read`] (cache misses), [`master_client`] (finding and calling the
//! leading master), [`master_sync`] (registration and heartbeats),
//! [`local_writes`] (short-circuit writes: temporary block files a client on
//! this machine fills), [`metrics`] (what the web port shows), [`server`]
//! (start-up and shutdown of the whole worker).

pub mod block_store;
pub mod local_writes;
pub mod master_client;
pub mod master_sync;
pub mod metrics;
pub mod server;
pub mod service;
pub mod settings;
pub mod ufs_read;
