//! The master's settings, read once from the configuration and validated.

use std::collections::BTreeMap;
use std::time::Duration;

use alluxio_common::config::{keys, Config, ConfigError};

use crate::election::ZkSettings;

/// Everything the master process needs from the configuration.
#[derive(Debug, Clone)]
pub struct MasterSettings {
    pub hostname: String,
    pub rpc_port: u16,
    pub web_port: u16,
    pub journal_folder: String,
    pub root_ufs: String,
    /// Options of the root mount (credentials, endpoint).
    pub root_ufs_options: BTreeMap<String, String>,
    /// Options for opening the journal folder when it is an object store.
    pub journal_options: BTreeMap<String, String>,
    pub checkpoint_period_entries: u64,
    pub worker_timeout: Duration,
    /// How long a version may stay incomplete with no sign of its writer.
    pub incomplete_file_timeout: Duration,
    pub lost_worker_interval: Duration,
    pub default_block_size: u64,
    /// ZooKeeper election, when `alluxio.zookeeper.enabled`.
    pub zookeeper: Option<ZkSettings>,
}

impl MasterSettings {
    /// Reads and checks every setting.
    pub fn from_config(conf: &Config) -> Result<Self, ConfigError> {
        Ok(MasterSettings {
            hostname: conf.get(keys::MASTER_HOSTNAME)?,
            rpc_port: conf.get_port(keys::MASTER_RPC_PORT)?,
            web_port: conf.get_port(keys::MASTER_WEB_PORT)?,
            journal_folder: conf.get(keys::MASTER_JOURNAL_FOLDER)?,
            root_ufs: conf.get(keys::MASTER_MOUNT_TABLE_ROOT_UFS)?,
            root_ufs_options: conf.ufs_options("alluxio.master.mount.table.root.option."),
            journal_options: conf.ufs_options("alluxio.master.journal.ufs.option."),
            checkpoint_period_entries: conf
                .get_u64(keys::MASTER_JOURNAL_CHECKPOINT_PERIOD_ENTRIES)?
                .max(1),
            worker_timeout: conf.get_duration(keys::MASTER_WORKER_TIMEOUT)?,
            incomplete_file_timeout: conf.get_duration(keys::MASTER_INCOMPLETE_FILE_TIMEOUT)?,
            lost_worker_interval: conf.get_duration(keys::MASTER_LOST_WORKER_DETECTION_INTERVAL)?,
            default_block_size: conf.get_bytes(keys::USER_BLOCK_SIZE_BYTES_DEFAULT)?,
            zookeeper: if conf.get_bool(keys::ZOOKEEPER_ENABLED)? {
                let address = conf.get_list(keys::ZOOKEEPER_ADDRESS)?;
                if address.is_empty() {
                    return Err(ConfigError::Missing {
                        key: keys::ZOOKEEPER_ADDRESS.to_string(),
                    });
                }
                Some(ZkSettings {
                    address: address.join(","),
                    session_timeout: conf.get_duration(keys::ZOOKEEPER_SESSION_TIMEOUT)?,
                    election_path: conf.get(keys::ZOOKEEPER_ELECTION_PATH)?,
                    leader_path: conf.get(keys::ZOOKEEPER_LEADER_PATH)?,
                })
            } else {
                None
            },
        })
    }

    /// `host:port` clients use to reach this master.
    pub fn address(&self) -> String {
        format!("{}:{}", self.hostname, self.rpc_port)
    }
}
