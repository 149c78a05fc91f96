//! Where the masters are, as configured: a fixed list of addresses, or the
//! ZooKeeper ensemble and paths under which the masters elect a leader.
//! Plain data read from the configuration, with errors naming the key; no
//! connection is made here.

use std::time::Duration;

use crate::config::{keys, Config, ConfigError};

/// Where the masters are, as configured (plain data, no connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoverySettings {
    /// A fixed list of master `host:port` addresses, tried in order.
    Static(Vec<String>),
    /// The leader is registered in ZooKeeper.
    ZooKeeper(ZooKeeperSettings),
}

/// The ZooKeeper settings of leader discovery (`alluxio.zookeeper.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooKeeperSettings {
    /// `host:port` of every ZooKeeper server.
    pub servers: Vec<String>,
    /// Session timeout asked of ZooKeeper.
    pub session_timeout: Duration,
    /// Parent of the masters' ephemeral sequential election nodes.
    pub election_path: String,
    /// Parent of the leader's ephemeral `host:port` node.
    pub leader_path: String,
}

impl ZooKeeperSettings {
    /// The connect string of the ZooKeeper client (`h1:p1,h2:p2`).
    pub fn connect_string(&self) -> String {
        self.servers.join(",")
    }

    /// Bound of one ZooKeeper read.
    pub(super) fn op_timeout(&self) -> Duration {
        self.session_timeout
            .clamp(Duration::from_secs(1), Duration::from_secs(10))
    }
}

impl DiscoverySettings {
    /// Reads the discovery settings. With ZooKeeper enabled,
    /// `alluxio.zookeeper.address` is required and no master host name is
    /// read; without it, `alluxio.master.rpc.addresses` if set, else
    /// `alluxio.master.hostname:alluxio.master.rpc.port`.
    pub fn from_config(conf: &Config) -> Result<Self, ConfigError> {
        if conf.get_bool(keys::ZOOKEEPER_ENABLED)? {
            let servers = conf.get_list(keys::ZOOKEEPER_ADDRESS)?;
            if servers.is_empty() || servers.iter().any(|s| !is_host_port(s)) {
                return Err(invalid(
                    conf,
                    keys::ZOOKEEPER_ADDRESS,
                    "comma-separated host:port items, e.g. zk1:2181,zk2:2181",
                ));
            }
            let session_timeout = conf.get_duration(keys::ZOOKEEPER_SESSION_TIMEOUT)?;
            if session_timeout.is_zero() {
                return Err(invalid(
                    conf,
                    keys::ZOOKEEPER_SESSION_TIMEOUT,
                    "a duration greater than zero",
                ));
            }
            let election_path = znode_path(conf, keys::ZOOKEEPER_ELECTION_PATH)?;
            let leader_path = znode_path(conf, keys::ZOOKEEPER_LEADER_PATH)?;
            return Ok(DiscoverySettings::ZooKeeper(ZooKeeperSettings {
                servers,
                session_timeout,
                election_path,
                leader_path,
            }));
        }
        if conf.get_opt(keys::MASTER_RPC_ADDRESSES).is_some() {
            let list = conf.get_list(keys::MASTER_RPC_ADDRESSES)?;
            if list.is_empty() || list.iter().any(|a| !is_host_port(a)) {
                return Err(invalid(
                    conf,
                    keys::MASTER_RPC_ADDRESSES,
                    "comma-separated host:port items, e.g. m1:19998,m2:19998",
                ));
            }
            return Ok(DiscoverySettings::Static(list));
        }
        let host = conf.get(keys::MASTER_HOSTNAME)?;
        let port = conf.get_port(keys::MASTER_RPC_PORT)?;
        if host.trim().is_empty() {
            return Err(invalid(conf, keys::MASTER_HOSTNAME, "a host name"));
        }
        Ok(DiscoverySettings::Static(vec![format!(
            "{}:{port}",
            host.trim()
        )]))
    }

    /// Whether the leader comes from ZooKeeper.
    pub fn is_zookeeper(&self) -> bool {
        matches!(self, DiscoverySettings::ZooKeeper(_))
    }

    /// Where the masters are looked for, for messages: "ZooKeeper
    /// zk1:2181,zk2:2181 /alluxio/leader" or "masters m1:19998, m2:19998".
    pub fn describe(&self) -> String {
        match self {
            DiscoverySettings::Static(list) => format!("masters {}", list.join(", ")),
            DiscoverySettings::ZooKeeper(zk) => {
                format!("ZooKeeper {} {}", zk.connect_string(), zk.leader_path)
            }
        }
    }
}

fn invalid(conf: &Config, key: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        value: conf.get(key).unwrap_or_default(),
        expected: expected.to_string(),
    }
}

/// Reads an absolute ZooKeeper path, dropping a trailing `/`.
fn znode_path(conf: &Config, key: &str) -> Result<String, ConfigError> {
    let value = conf.get(key)?;
    normalize_znode_path(&value).ok_or_else(|| {
        invalid(
            conf,
            key,
            "an absolute ZooKeeper path such as /alluxio/leader",
        )
    })
}

fn normalize_znode_path(value: &str) -> Option<String> {
    let value = value.trim();
    let trimmed = value.strip_suffix('/').unwrap_or(value);
    let ok = trimmed.starts_with('/')
        && trimmed.len() > 1
        && trimmed[1..].split('/').all(|part| {
            !part.is_empty() && part != "." && part != ".." && !part.contains(char::is_whitespace)
        });
    ok.then(|| trimmed.to_string())
}

/// Whether `item` has the form `host:port` (port 1 to 65535).
pub fn is_host_port(item: &str) -> bool {
    item.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && !host.contains(char::is_whitespace)
            && port.parse::<u16>().is_ok_and(|p| p > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut conf = Config::defaults();
        for (k, v) in pairs {
            conf.set(k, v);
        }
        conf
    }

    #[test]
    fn static_mode_from_hostname_or_list() {
        let c = DiscoverySettings::from_config(&config(&[])).unwrap();
        assert_eq!(c, DiscoverySettings::Static(vec!["localhost:19998".into()]));

        let c = DiscoverySettings::from_config(&config(&[
            (keys::MASTER_HOSTNAME, "m0"),
            (keys::MASTER_RPC_PORT, "20000"),
        ]))
        .unwrap();
        assert_eq!(c, DiscoverySettings::Static(vec!["m0:20000".into()]));

        let c = DiscoverySettings::from_config(&config(&[
            (keys::MASTER_HOSTNAME, "ignored"),
            (keys::MASTER_RPC_ADDRESSES, " m1:19998, m2:19998 "),
        ]))
        .unwrap();
        assert_eq!(
            c,
            DiscoverySettings::Static(vec!["m1:19998".into(), "m2:19998".into()])
        );
        assert!(!c.is_zookeeper());
        assert_eq!(c.describe(), "masters m1:19998, m2:19998");

        let err = DiscoverySettings::from_config(&config(&[(keys::MASTER_RPC_ADDRESSES, "m1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(keys::MASTER_RPC_ADDRESSES), "{err}");
    }

    #[test]
    fn zookeeper_mode_needs_no_master_hostname() {
        let c = DiscoverySettings::from_config(&config(&[
            (keys::ZOOKEEPER_ENABLED, "true"),
            (keys::ZOOKEEPER_ADDRESS, "zk1:2181, zk2:2181"),
            (keys::ZOOKEEPER_SESSION_TIMEOUT, "3s"),
            (keys::MASTER_HOSTNAME, ""),
            (keys::MASTER_RPC_ADDRESSES, "bad"),
        ]))
        .unwrap();
        let DiscoverySettings::ZooKeeper(zk) = &c else {
            panic!("expected ZooKeeper mode: {c:?}");
        };
        assert_eq!(zk.servers, vec!["zk1:2181".to_string(), "zk2:2181".into()]);
        assert_eq!(zk.connect_string(), "zk1:2181,zk2:2181");
        assert_eq!(zk.session_timeout, Duration::from_secs(3));
        assert_eq!(zk.election_path, "/alluxio/election");
        assert_eq!(zk.leader_path, "/alluxio/leader");
        assert_eq!(c.describe(), "ZooKeeper zk1:2181,zk2:2181 /alluxio/leader");

        let c = DiscoverySettings::from_config(&config(&[
            (keys::ZOOKEEPER_ENABLED, "TRUE"),
            (keys::ZOOKEEPER_ADDRESS, "127.0.0.1:2181"),
            (keys::ZOOKEEPER_LEADER_PATH, "/a/lead/"),
            (keys::ZOOKEEPER_ELECTION_PATH, "/a/elect"),
        ]))
        .unwrap();
        let DiscoverySettings::ZooKeeper(zk) = c else {
            panic!("expected ZooKeeper mode");
        };
        assert_eq!(
            (zk.leader_path.as_str(), zk.election_path.as_str()),
            ("/a/lead", "/a/elect")
        );
    }

    #[test]
    fn zookeeper_mode_errors_name_the_key() {
        let err = DiscoverySettings::from_config(&config(&[(keys::ZOOKEEPER_ENABLED, "true")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(keys::ZOOKEEPER_ADDRESS), "{err}");
        for (key, value) in [
            (keys::ZOOKEEPER_ADDRESS, "zk1"),
            (keys::ZOOKEEPER_SESSION_TIMEOUT, "0ms"),
            (keys::ZOOKEEPER_LEADER_PATH, "alluxio/leader"),
            (keys::ZOOKEEPER_ELECTION_PATH, "/a//b"),
            (keys::ZOOKEEPER_LEADER_PATH, "/"),
        ] {
            let mut pairs = vec![
                (keys::ZOOKEEPER_ENABLED, "true"),
                (keys::ZOOKEEPER_ADDRESS, "zk1:2181"),
            ];
            pairs.push((key, value));
            let err = DiscoverySettings::from_config(&config(&pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn host_port_items() {
        assert!(is_host_port("127.0.0.1:19998"));
        assert!(is_host_port("[::1]:19998"));
        assert!(!is_host_port("m1"));
        assert!(!is_host_port(":19998"));
        assert!(!is_host_port("m1:0"));
        assert!(!is_host_port("m1:70000"));
    }
}
