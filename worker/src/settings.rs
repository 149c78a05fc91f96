//! The worker's runtime settings, read once from the configuration at start.
//!
//! Every property the worker uses is read here and nowhere else, so a bad
//! value stops the process before it binds a port, and the rest of the crate
//! works with typed fields instead of property names.

use std::path::PathBuf;
use std::time::Duration;

use alluxio_common::config::{keys, Config, ConfigError};
use alluxio_common::leader::DiscoverySettings;

/// Sub-directory of a tier path that holds this worker's blocks, as in Alluxio.
pub const WORKER_DATA_FOLDER: &str = "alluxioworker";

/// Everything the worker needs to know from its configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSettings {
    /// Host name the worker advertises to the master and clients.
    pub hostname: String,
    /// Port of the block RPC service.
    pub rpc_port: u16,
    /// Web port: `/metrics` and the status page.
    pub web_port: u16,
    /// Storage tiers, level 0 (the fastest) first.
    pub tiers: Vec<TierSettings>,
    /// Interval between heartbeats.
    pub heartbeat_interval: Duration,
    /// How long the worker keeps running without a successful heartbeat.
    pub heartbeat_timeout: Duration,
    /// How long a starting worker keeps trying to register.
    pub master_connect_timeout: Duration,
    /// Silence after which a connection's peer is pinged, and how long the
    /// answer may take before the connection (and its streams) is dropped.
    pub keepalive_time: Duration,
    pub keepalive_timeout: Duration,
    /// How the leading master is found: `host:port` of every master in the
    /// order they are tried, or ZooKeeper (then no master host name is read).
    pub masters: DiscoverySettings,
}

/// One storage tier (`alluxio.worker.tieredstore.levelN.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierSettings {
    /// Tier level, 0 being the top.
    pub level: usize,
    /// Tier alias: `MEM`, `SSD` or `HDD`.
    pub alias: String,
    /// Configured directory; blocks live in its [`WORKER_DATA_FOLDER`].
    pub path: PathBuf,
    /// Capacity in bytes.
    pub quota: u64,
}

impl TierSettings {
    /// The directory holding this tier's block files.
    pub fn block_dir(&self) -> PathBuf {
        self.path.join(WORKER_DATA_FOLDER)
    }
}

impl WorkerSettings {
    /// Reads and checks every worker property of `config`.
    pub fn from_config(config: &Config) -> Result<WorkerSettings, ConfigError> {
        let levels = config.get_u64(keys::WORKER_TIERED_STORE_LEVELS)?;
        if !(1..=3).contains(&levels) {
            return Err(invalid(
                config,
                keys::WORKER_TIERED_STORE_LEVELS,
                "1, 2 or 3",
            ));
        }
        let tiers = (0..levels as usize)
            .map(|level| tier(config, level))
            .collect::<Result<_, _>>()?;
        Ok(WorkerSettings {
            hostname: config.get(keys::WORKER_HOSTNAME)?,
            rpc_port: config.get_port(keys::WORKER_RPC_PORT)?,
            web_port: config.get_port(keys::WORKER_WEB_PORT)?,
            tiers,
            heartbeat_interval: positive(config, keys::WORKER_BLOCK_HEARTBEAT_INTERVAL)?,
            heartbeat_timeout: positive(config, keys::WORKER_BLOCK_HEARTBEAT_TIMEOUT)?,
            master_connect_timeout: config
                .get_duration(keys::WORKER_MASTER_CONNECT_RETRY_TIMEOUT)?,
            keepalive_time: positive(config, keys::WORKER_NETWORK_KEEPALIVE_TIME)?,
            keepalive_timeout: positive(config, keys::WORKER_NETWORK_KEEPALIVE_TIMEOUT)?,
            masters: DiscoverySettings::from_config(config)?,
        })
    }
}

fn tier(config: &Config, level: usize) -> Result<TierSettings, ConfigError> {
    let path_key = keys::tier_key(level, "dirs.path");
    let quota_key = keys::tier_key(level, "dirs.quota");
    let alias = config.get(&keys::tier_key(level, "alias"))?;
    let paths = config.get_list(&path_key)?;
    let [path] = paths.as_slice() else {
        return Err(invalid(
            config,
            &path_key,
            "exactly one directory (several directories per tier are not supported yet)",
        ));
    };
    let quotas = config.get_bytes_list(&quota_key)?;
    let [quota] = quotas.as_slice() else {
        return Err(invalid(
            config,
            &quota_key,
            "one size, for the tier's one directory",
        ));
    };
    Ok(TierSettings {
        level,
        alias,
        path: PathBuf::from(path),
        quota: *quota,
    })
}

fn positive(config: &Config, key: &str) -> Result<Duration, ConfigError> {
    let value = config.get_duration(key)?;
    if value.is_zero() {
        return Err(invalid(config, key, "a duration greater than zero"));
    }
    Ok(value)
}

fn invalid(config: &Config, key: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        value: config.get(key).unwrap_or_default(),
        expected: expected.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut config = Config::defaults();
        for (key, value) in pairs {
            config.set(key, value);
        }
        config
    }

    #[test]
    fn defaults_match_alluxio() {
        let s = WorkerSettings::from_config(&config(&[])).unwrap();
        assert_eq!(s.rpc_port, 29999);
        assert_eq!(s.web_port, 30000);
        assert_eq!(s.heartbeat_interval, Duration::from_secs(1));
        assert!(s.heartbeat_timeout >= Duration::from_secs(60));
        assert_eq!(
            s.masters,
            DiscoverySettings::Static(vec!["localhost:19998".to_string()])
        );
        assert_eq!(s.tiers.len(), 1);
        let tier = &s.tiers[0];
        assert_eq!((tier.level, tier.alias.as_str()), (0, "MEM"));
        assert_eq!(tier.path, PathBuf::from("/dev/shm"));
        assert_eq!(tier.block_dir(), PathBuf::from("/dev/shm/alluxioworker"));
        assert_eq!(tier.quota, 1 << 30);
    }

    #[test]
    fn reads_overrides() {
        let s = WorkerSettings::from_config(&config(&[
            (keys::WORKER_HOSTNAME, "w1"),
            (keys::WORKER_RPC_PORT, "31000"),
            (keys::WORKER_TIERED_STORE_LEVEL0_DIRS_PATH, "/tmp/t0"),
            (keys::WORKER_TIERED_STORE_LEVEL0_DIRS_QUOTA, "64MB"),
            (keys::WORKER_BLOCK_HEARTBEAT_INTERVAL, "250ms"),
            (keys::WORKER_BLOCK_HEARTBEAT_TIMEOUT, "5min"),
            (keys::MASTER_HOSTNAME, "m0"),
            (keys::MASTER_RPC_PORT, "20000"),
        ]))
        .unwrap();
        assert_eq!((s.hostname.as_str(), s.rpc_port), ("w1", 31000));
        assert_eq!(s.tiers[0].path, PathBuf::from("/tmp/t0"));
        assert_eq!(s.tiers[0].quota, 64 << 20);
        assert_eq!(s.heartbeat_interval, Duration::from_millis(250));
        assert_eq!(s.heartbeat_timeout, Duration::from_secs(300));
        assert_eq!(
            s.masters,
            DiscoverySettings::Static(vec!["m0:20000".to_string()])
        );
    }

    #[test]
    fn rpc_addresses_win_over_hostname() {
        let s = WorkerSettings::from_config(&config(&[
            (keys::MASTER_HOSTNAME, "ignored"),
            (keys::MASTER_RPC_ADDRESSES, "m1:19998, m2:19998"),
        ]))
        .unwrap();
        assert_eq!(
            s.masters,
            DiscoverySettings::Static(vec!["m1:19998".to_string(), "m2:19998".to_string()])
        );
    }

    #[test]
    fn zookeeper_needs_no_master_hostname() {
        let s = WorkerSettings::from_config(&config(&[
            (keys::ZOOKEEPER_ENABLED, "true"),
            (keys::ZOOKEEPER_ADDRESS, "zk1:2181,zk2:2181"),
            (keys::MASTER_HOSTNAME, ""),
        ]))
        .unwrap();
        let DiscoverySettings::ZooKeeper(zk) = &s.masters else {
            panic!("expected ZooKeeper: {:?}", s.masters);
        };
        assert_eq!(zk.servers, vec!["zk1:2181".to_string(), "zk2:2181".into()]);
        assert_eq!(zk.leader_path, "/alluxio/leader");

        let err = WorkerSettings::from_config(&config(&[(keys::ZOOKEEPER_ENABLED, "true")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(keys::ZOOKEEPER_ADDRESS), "{err}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = WorkerSettings::from_config(&config(&[(keys::WORKER_RPC_PORT, "seventy")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(keys::WORKER_RPC_PORT), "{err}");

        let err = WorkerSettings::from_config(&config(&[(keys::MASTER_RPC_ADDRESSES, "m1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(keys::MASTER_RPC_ADDRESSES), "{err}");

        let err = WorkerSettings::from_config(&config(&[(
            keys::WORKER_TIERED_STORE_LEVEL0_DIRS_PATH,
            "/a,/b",
        )]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("not supported"), "{err}");

        let err =
            WorkerSettings::from_config(&config(&[(keys::WORKER_BLOCK_HEARTBEAT_INTERVAL, "0ms")]))
                .unwrap_err()
                .to_string();
        assert!(err.contains(keys::WORKER_BLOCK_HEARTBEAT_INTERVAL), "{err}");
    }

    #[test]
    fn reads_lower_tiers() {
        let s = WorkerSettings::from_config(&config(&[
            (keys::WORKER_TIERED_STORE_LEVELS, "2"),
            (keys::WORKER_TIERED_STORE_LEVEL1_DIRS_PATH, "/ssd"),
            (keys::WORKER_TIERED_STORE_LEVEL1_DIRS_QUOTA, "10GB"),
        ]))
        .unwrap();
        assert_eq!(s.tiers.len(), 2);
        assert_eq!(s.tiers[1].alias, "SSD");
        assert_eq!(s.tiers[1].quota, 10 << 30);
    }
}
