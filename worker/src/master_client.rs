//! The block master's RPCs over the one leader-following connection
//! (`alluxio_common::leader::LeaderConnection`): this file only wraps its
//! channel in the generated `BlockMaster` client.
//!
//! Each call makes one pass over the candidates (following redirects) and
//! returns the last error: registration and heartbeats pace their own
//! retries with different patience (`master_sync.rs`).

use std::future::Future;
use std::time::Duration;

use alluxio_common::leader::{ConnectionSettings, LeaderConnection, MasterDiscovery};
use alluxio_common::FsResult;
use alluxio_proto::block_master_client::BlockMasterClient;
use tonic::transport::Channel;

/// Upper bound of any one RPC to the master (a full block report included).
const RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest message exchanged with the master (block reports can be long).
const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// A connection to whichever master currently leads.
pub struct MasterClient {
    connection: LeaderConnection,
}

impl MasterClient {
    /// A client that finds masters through `discovery`; it connects lazily.
    pub fn new(discovery: MasterDiscovery) -> MasterClient {
        MasterClient {
            connection: LeaderConnection::new(discovery, ConnectionSettings::one_pass(RPC_TIMEOUT)),
        }
    }

    /// How masters are found.
    pub fn discovery(&self) -> &MasterDiscovery {
        self.connection.discovery()
    }

    /// Address of the master that answered the last successful call.
    pub fn leader_address(&self) -> Option<String> {
        self.connection.last_leader()
    }

    /// Runs `rpc` against the leader (one pass, see the module comment).
    pub async fn call<T, F, Fut>(&self, rpc: F) -> FsResult<T>
    where
        F: Fn(BlockMasterClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.connection
            .call(|channel| {
                rpc(BlockMasterClient::new(channel)
                    .max_decoding_message_size(MAX_MESSAGE_SIZE)
                    .max_encoding_message_size(MAX_MESSAGE_SIZE))
            })
            .await
    }
}
