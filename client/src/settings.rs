//! Client settings, read from the configuration (`alluxio.user.*`).

use alluxio_common::config::{keys, Config, ConfigError};
use alluxio_common::leader::DiscoverySettings;
use alluxio_common::retry::RetryPolicy;
use alluxio_proto::WriteType;

/// Whether reads cache blocks on workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadType {
    NoCache,
    Cache,
    CachePromote,
}

/// Everything the client needs to know.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// How the leading master is found: a fixed list or ZooKeeper
    /// (`alluxio.zookeeper.*`).
    pub masters: DiscoverySettings,
    /// The configured master RPC addresses (`host:port`) without ZooKeeper;
    /// empty with ZooKeeper (use `FileSystem::master_infos` or
    /// `FileSystem::discovery` for the masters it knows).
    pub master_addresses: Vec<String>,
    pub retry: RetryPolicy,
    pub block_size: u64,
    pub write_type: WriteType,
    pub read_type: ReadType,
    pub chunk_size: usize,
    /// Host name of this machine, to prefer a local worker.
    pub local_hostname: String,
    /// Read blocks cached on this machine's worker from its files.
    pub short_circuit: bool,
    pub user: String,
    pub group: String,
}

fn write_type(name: &str) -> WriteType {
    match name {
        "MUST_CACHE" => WriteType::MustCache,
        "THROUGH" => WriteType::Through,
        "ASYNC_THROUGH" => WriteType::AsyncThrough,
        _ => WriteType::CacheThrough,
    }
}

impl ClientSettings {
    /// Reads the client settings.
    pub fn from_config(conf: &Config) -> Result<Self, ConfigError> {
        let masters = DiscoverySettings::from_config(conf)?;
        let master_addresses = match &masters {
            DiscoverySettings::Static(list) => list.clone(),
            DiscoverySettings::ZooKeeper(_) => Vec::new(),
        };
        let read_type = match conf.get_enum(keys::USER_FILE_READ_TYPE_DEFAULT)?.as_str() {
            "NO_CACHE" => ReadType::NoCache,
            "CACHE_PROMOTE" => ReadType::CachePromote,
            _ => ReadType::Cache,
        };
        let (user, group) = alluxio_common::identity::current_user_group();
        Ok(ClientSettings {
            masters,
            master_addresses,
            retry: RetryPolicy {
                base_sleep: conf.get_duration(keys::USER_RPC_RETRY_BASE_SLEEP)?,
                max_sleep: conf.get_duration(keys::USER_RPC_RETRY_MAX_SLEEP)?,
                max_duration: conf.get_duration(keys::USER_RPC_RETRY_MAX_DURATION)?,
            },
            block_size: conf.get_bytes(keys::USER_BLOCK_SIZE_BYTES_DEFAULT)?,
            write_type: write_type(&conf.get_enum(keys::USER_FILE_WRITE_TYPE_DEFAULT)?),
            read_type,
            chunk_size: conf
                .get_bytes(keys::USER_NETWORK_READER_CHUNK_SIZE_BYTES)?
                .clamp(4096, 16 << 20) as usize,
            local_hostname: conf
                .get(keys::WORKER_HOSTNAME)
                .unwrap_or_else(|_| "localhost".into()),
            short_circuit: conf.get_bool(keys::USER_SHORT_CIRCUIT_ENABLED)?,
            user,
            group,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zookeeper_needs_no_master_hostname() {
        let mut conf = Config::defaults();
        conf.set(keys::ZOOKEEPER_ENABLED, "true");
        conf.set(keys::ZOOKEEPER_ADDRESS, "127.0.0.1:2181");
        conf.set(keys::MASTER_HOSTNAME, "");
        let opts = ClientSettings::from_config(&conf).unwrap();
        assert!(opts.masters.is_zookeeper());
        assert!(opts.master_addresses.is_empty());
    }

    #[test]
    fn static_addresses_without_zookeeper() {
        let mut conf = Config::defaults();
        conf.set(keys::MASTER_RPC_ADDRESSES, "m1:19998,m2:19998");
        let opts = ClientSettings::from_config(&conf).unwrap();
        let list = vec!["m1:19998".to_string(), "m2:19998".to_string()];
        assert_eq!(opts.masters, DiscoverySettings::Static(list.clone()));
        assert_eq!(opts.master_addresses, list);
    }
}
