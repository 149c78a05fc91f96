//! Finding and following the leading master, for every process that talks
//! to one (client library, CLI, FUSE daemon, worker).
//!
//! - `settings.rs`: where the masters are, as configured
//!   ([`DiscoverySettings`]: a fixed list, or ZooKeeper);
//! - `discovery.rs`: [`MasterDiscovery`], the shared handle that knows the
//!   masters and the leader (a fixed list, the ZooKeeper leader node, or a
//!   leader announced by its owner);
//! - `zookeeper.rs`: the background task that follows the leader node;
//! - `connection.rs`: [`LeaderConnection`], the one retrying connection to
//!   the leader (hints, redirects, timeouts, backoff).

mod connection;
mod discovery;
mod settings;
mod zookeeper;

pub use connection::{ConnectionSettings, LeaderConnection, MAX_REDIRECTS};
pub use discovery::{Announcer, MasterDiscovery, LEADER_WAIT};
pub use settings::{is_host_port, DiscoverySettings, ZooKeeperSettings};
