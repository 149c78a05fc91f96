//! Connections to workers and the choice of which worker to use: a worker on
//! this host first, otherwise one picked by block id so that the same block
//! lands on the same worker.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alluxio_common::FsResult;
use alluxio_proto::block_worker_client::BlockWorkerClient;
use alluxio_proto::WorkerNetAddress;
use tonic::transport::Channel;

use alluxio_common::channel::channel;

const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// How long a fetched list of live workers is trusted.
const WORKER_LIST_TTL: Duration = Duration::from_secs(5);

/// Cached worker channels and the list of live workers.
#[derive(Default)]
pub struct WorkerPool {
    channels: Mutex<HashMap<String, Channel>>,
    live: Mutex<Option<(Instant, Vec<WorkerNetAddress>)>>,
}

/// `host:port` of a worker.
pub fn worker_key(a: &WorkerNetAddress) -> String {
    format!("{}:{}", a.host, a.rpc_port)
}

impl WorkerPool {
    /// A client for the worker at `addr`.
    pub fn client(&self, addr: &WorkerNetAddress) -> FsResult<BlockWorkerClient<Channel>> {
        let key = worker_key(addr);
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let ch = match map.get(&key) {
            Some(ch) => ch.clone(),
            None => {
                let ch = channel(&key, None)?;
                map.insert(key, ch.clone());
                ch
            }
        };
        Ok(BlockWorkerClient::new(ch)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    /// The cached live worker list if still fresh.
    pub fn cached_live(&self) -> Option<Vec<WorkerNetAddress>> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.as_ref()
            .filter(|(t, _)| t.elapsed() < WORKER_LIST_TTL)
            .map(|(_, w)| w.clone())
    }

    /// Stores a fresh live worker list.
    pub fn set_live(&self, workers: Vec<WorkerNetAddress>) {
        *self.live.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), workers));
    }

    /// Forgets the live list (after a worker failed), so the next choice
    /// asks the master again.
    pub fn invalidate(&self) {
        *self.live.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Orders `workers` by preference for `block_id`: local ones first, then a
/// rotation starting at a block-dependent position.
pub fn preference(
    workers: &[WorkerNetAddress],
    local_host: &str,
    block_id: u64,
) -> Vec<WorkerNetAddress> {
    let mut out: Vec<WorkerNetAddress> = Vec::with_capacity(workers.len());
    if workers.is_empty() {
        return out;
    }
    let start = (block_id as usize) % workers.len();
    let rotated = workers[start..].iter().chain(workers[..start].iter());
    let (local, remote): (Vec<_>, Vec<_>) = rotated.cloned().partition(|w| w.host == local_host);
    out.extend(local);
    out.extend(remote);
    out
}
