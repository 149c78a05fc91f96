//! The file-system master's RPCs over the one leader-following connection
//! (`alluxio_common::leader::LeaderConnection`, which holds every retry and
//! failover rule): this file only wraps its channel in the generated
//! `FileSystemMaster` client, and asks one master directly for its state.

use std::future::Future;
use std::time::Duration;

use alluxio_common::leader::{ConnectionSettings, LeaderConnection, MasterDiscovery};
use alluxio_common::retry::RetryPolicy;
use alluxio_common::{FsError, FsResult};
use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use alluxio_proto::{GetMasterInfoRequest, GetMasterInfoResponse};
use tonic::transport::Channel;

const MAX_MESSAGE_BYTES: usize = 256 << 20;
/// Bound of one `GetMasterInfo` probe (connection included).
const MASTER_INFO_TIMEOUT: Duration = Duration::from_secs(3);

fn fs_client(ch: Channel) -> FileSystemMasterClient<Channel> {
    FileSystemMasterClient::new(ch)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Asks the master at `addr` (whatever its role) for its state: one
/// attempt, bounded by a short timeout.
pub async fn master_info(addr: &str) -> FsResult<GetMasterInfoResponse> {
    let ask = async {
        let mut client = fs_client(alluxio_common::channel::channel(addr, None)?);
        client
            .get_master_info(GetMasterInfoRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(FsError::from)
    };
    match tokio::time::timeout(MASTER_INFO_TIMEOUT, ask).await {
        Ok(result) => result,
        Err(_) => Err(FsError::Unavailable(format!(
            "master {addr} did not answer within {MASTER_INFO_TIMEOUT:?}"
        ))),
    }
}

/// The leading file-system master, retried within the client's budget.
pub struct MasterClient {
    connection: LeaderConnection,
}

impl MasterClient {
    /// A client for the masters `discovery` finds.
    pub fn new(discovery: MasterDiscovery, retry: RetryPolicy) -> Self {
        MasterClient {
            connection: LeaderConnection::new(discovery, ConnectionSettings::retrying(retry)),
        }
    }

    /// How masters are found.
    pub fn discovery(&self) -> &MasterDiscovery {
        self.connection.discovery()
    }

    /// The master in use (see `LeaderConnection::current_address`).
    pub fn current_address(&self) -> String {
        self.connection.current_address()
    }

    /// Runs `op` against the leader, retrying retryable failures. `op` is
    /// called once per attempt: a mutation must reuse one operation id.
    pub async fn call<T, F, Fut>(&self, op: F) -> FsResult<T>
    where
        F: Fn(FileSystemMasterClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.connection.call(|channel| op(fs_client(channel))).await
    }
}
