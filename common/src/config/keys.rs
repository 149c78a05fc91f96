//! The registry of properties this implementation understands: Alluxio's
//! names, defaults, value kinds and meanings.
//!
//! Adding a property means adding a `const` name and a row to [`KEYS`];
//! [`Config::validate`](super::Config::validate) then checks its value and
//! loading stops warning about it. Names Alluxio users commonly set but that
//! have no effect here are listed in [`KNOWN_UNUSED`] so they load quietly.

use super::units;

/// The form a property's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A size such as `64MB` ([`units::parse_bytes`]).
    Bytes,
    /// Comma-separated sizes, one per directory (`10GB,100GB`).
    BytesList,
    /// A duration such as `5min` ([`units::parse_duration`]).
    Duration,
    /// A non-negative integer.
    Int,
    /// A TCP port from 1 to 65535.
    Port,
    /// `true` or `false`.
    Bool,
    /// A number from 0 to 1.
    Ratio,
    /// Free text.
    String,
    /// Comma-separated items.
    List,
    /// One of the given upper-case names, matched case-insensitively.
    Enum(&'static [&'static str]),
}

impl Kind {
    /// Describes the accepted form, as quoted in
    /// [`ConfigError::InvalidValue`](super::ConfigError::InvalidValue).
    pub fn expected(&self) -> String {
        match self {
            Kind::Bytes => units::BYTES_FORM.to_string(),
            Kind::BytesList => format!("comma-separated sizes, each {}", units::BYTES_FORM),
            Kind::Duration => units::DURATION_FORM.to_string(),
            Kind::Int => units::INT_FORM.to_string(),
            Kind::Port => units::PORT_FORM.to_string(),
            Kind::Bool => units::BOOL_FORM.to_string(),
            Kind::Ratio => units::RATIO_FORM.to_string(),
            Kind::String => "any text".to_string(),
            Kind::List => "comma-separated items".to_string(),
            Kind::Enum(names) => format!("one of {}", names.join(", ")),
        }
    }

    /// Checks that `value` has this form; `Err` holds [`Kind::expected`].
    pub fn check(&self, value: &str) -> Result<(), String> {
        let ok = match self {
            Kind::Bytes => units::parse_bytes(value).is_ok(),
            Kind::BytesList => split_list(value).all(|item| units::parse_bytes(item).is_ok()),
            Kind::Duration => units::parse_duration(value).is_ok(),
            Kind::Int => units::parse_u64(value).is_ok(),
            Kind::Port => units::parse_port(value).is_ok(),
            Kind::Bool => units::parse_bool(value).is_ok(),
            Kind::Ratio => units::parse_ratio(value).is_ok(),
            Kind::String | Kind::List => true,
            Kind::Enum(names) => canonical_enum(names, value).is_some(),
        };
        if ok {
            Ok(())
        } else {
            Err(self.expected())
        }
    }
}

/// Splits a comma-separated value into trimmed, non-empty items.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Returns the canonical spelling of `value` among `names`, ignoring case.
pub fn canonical_enum(names: &'static [&'static str], value: &str) -> Option<&'static str> {
    let value = value.trim();
    names
        .iter()
        .copied()
        .find(|name| name.eq_ignore_ascii_case(value))
}

/// One known property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyKey {
    /// The full property name, e.g. `alluxio.master.hostname`.
    pub name: &'static str,
    /// The default value text; may hold `${other.key}` references. `None`
    /// when there is no default or it is computed at load time.
    pub default: Option<&'static str>,
    /// The form of the value.
    pub kind: Kind,
    /// What the property controls.
    pub description: &'static str,
}

/// Alluxio's installation directory; only used in `${alluxio.home}` references.
pub const HOME: &str = "alluxio.home";
/// Directory for this node's state (journal, logs, local UFS) by default.
pub const WORK_DIR: &str = "alluxio.work.dir";
/// Directory holding `alluxio-site.properties` and `alluxio-env.sh`.
pub const CONF_DIR: &str = "alluxio.conf.dir";
/// Directory for log files.
pub const LOGS_DIR: &str = "alluxio.logs.dir";
/// Log filter of the servers and the FUSE daemon (`RUST_LOG` wins).
pub const LOGS_LEVEL: &str = "alluxio.logs.level";
/// Where server logs go: `AUTO`, `STDERR` or `FILE` (see `logging`).
pub const LOGS_TARGET: &str = "alluxio.logs.target";
/// Size at which a log file is rotated.
pub const LOGS_MAX_SIZE: &str = "alluxio.logs.max.size";
/// Rotated log files kept besides the current one.
pub const LOGS_MAX_FILES: &str = "alluxio.logs.max.files";

/// Host name the master binds to and advertises.
pub const MASTER_HOSTNAME: &str = "alluxio.master.hostname";
/// Master RPC port.
pub const MASTER_RPC_PORT: &str = "alluxio.master.rpc.port";
/// Master web port.
pub const MASTER_WEB_PORT: &str = "alluxio.master.web.port";
/// `host:port` list of all masters, for clients and workers.
pub const MASTER_RPC_ADDRESSES: &str = "alluxio.master.rpc.addresses";
/// Where the master journal lives (a local path or UFS URI).
pub const MASTER_JOURNAL_FOLDER: &str = "alluxio.master.journal.folder";
/// Journal entries between checkpoints.
pub const MASTER_JOURNAL_CHECKPOINT_PERIOD_ENTRIES: &str =
    "alluxio.master.journal.checkpoint.period.entries";
/// Under storage mounted at `/`.
pub const MASTER_MOUNT_TABLE_ROOT_UFS: &str = "alluxio.master.mount.table.root.ufs";
/// Silence after which the master considers a worker lost.
pub const MASTER_WORKER_TIMEOUT: &str = "alluxio.master.worker.timeout";
/// How long a file version may stay incomplete with no sign of its writer.
pub const MASTER_INCOMPLETE_FILE_TIMEOUT: &str = "alluxio.master.incomplete.file.timeout";
/// How often the master looks for lost workers.
pub const MASTER_LOST_WORKER_DETECTION_INTERVAL: &str =
    "alluxio.master.lost.worker.detection.interval";
/// Where the master keeps its metadata.
pub const MASTER_METASTORE: &str = "alluxio.master.metastore";

/// Host name the worker binds to and advertises.
pub const WORKER_HOSTNAME: &str = "alluxio.worker.hostname";
/// Worker RPC (data) port.
pub const WORKER_RPC_PORT: &str = "alluxio.worker.rpc.port";
/// Worker web port.
pub const WORKER_WEB_PORT: &str = "alluxio.worker.web.port";
/// Number of storage tiers on a worker.
pub const WORKER_TIERED_STORE_LEVELS: &str = "alluxio.worker.tieredstore.levels";
/// Size of the memory tier.
pub const WORKER_RAMDISK_SIZE: &str = "alluxio.worker.ramdisk.size";
/// Storage tier 0 name (`MEM`, `SSD`, `HDD`).
pub const WORKER_TIERED_STORE_LEVEL0_ALIAS: &str = "alluxio.worker.tieredstore.level0.alias";
/// Comma-separated directories of tier 0.
pub const WORKER_TIERED_STORE_LEVEL0_DIRS_PATH: &str =
    "alluxio.worker.tieredstore.level0.dirs.path";
/// Comma-separated capacities of the tier 0 directories.
pub const WORKER_TIERED_STORE_LEVEL0_DIRS_QUOTA: &str =
    "alluxio.worker.tieredstore.level0.dirs.quota";
/// Tier 0 usage ratio at which eviction starts.
pub const WORKER_TIERED_STORE_LEVEL0_HIGH_WATERMARK_RATIO: &str =
    "alluxio.worker.tieredstore.level0.watermark.high.ratio";
/// Tier 0 usage ratio eviction brings usage down to.
pub const WORKER_TIERED_STORE_LEVEL0_LOW_WATERMARK_RATIO: &str =
    "alluxio.worker.tieredstore.level0.watermark.low.ratio";
/// Storage tier 1 name.
pub const WORKER_TIERED_STORE_LEVEL1_ALIAS: &str = "alluxio.worker.tieredstore.level1.alias";
/// Comma-separated directories of tier 1.
pub const WORKER_TIERED_STORE_LEVEL1_DIRS_PATH: &str =
    "alluxio.worker.tieredstore.level1.dirs.path";
/// Comma-separated capacities of the tier 1 directories.
pub const WORKER_TIERED_STORE_LEVEL1_DIRS_QUOTA: &str =
    "alluxio.worker.tieredstore.level1.dirs.quota";
/// Tier 1 usage ratio at which eviction starts.
pub const WORKER_TIERED_STORE_LEVEL1_HIGH_WATERMARK_RATIO: &str =
    "alluxio.worker.tieredstore.level1.watermark.high.ratio";
/// Tier 1 usage ratio eviction brings usage down to.
pub const WORKER_TIERED_STORE_LEVEL1_LOW_WATERMARK_RATIO: &str =
    "alluxio.worker.tieredstore.level1.watermark.low.ratio";
/// Storage tier 2 name.
pub const WORKER_TIERED_STORE_LEVEL2_ALIAS: &str = "alluxio.worker.tieredstore.level2.alias";
/// Comma-separated directories of tier 2.
pub const WORKER_TIERED_STORE_LEVEL2_DIRS_PATH: &str =
    "alluxio.worker.tieredstore.level2.dirs.path";
/// Comma-separated capacities of the tier 2 directories.
pub const WORKER_TIERED_STORE_LEVEL2_DIRS_QUOTA: &str =
    "alluxio.worker.tieredstore.level2.dirs.quota";
/// Tier 2 usage ratio at which eviction starts.
pub const WORKER_TIERED_STORE_LEVEL2_HIGH_WATERMARK_RATIO: &str =
    "alluxio.worker.tieredstore.level2.watermark.high.ratio";
/// Tier 2 usage ratio eviction brings usage down to.
pub const WORKER_TIERED_STORE_LEVEL2_LOW_WATERMARK_RATIO: &str =
    "alluxio.worker.tieredstore.level2.watermark.low.ratio";
/// How often a worker heartbeats to the master.
pub const WORKER_BLOCK_HEARTBEAT_INTERVAL: &str = "alluxio.worker.block.heartbeat.interval";
/// How long a worker keeps trying heartbeats before it gives up and re-registers.
pub const WORKER_BLOCK_HEARTBEAT_TIMEOUT: &str = "alluxio.worker.block.heartbeat.timeout.ms";
/// How long a worker's connection may be silent before it pings the peer.
pub const WORKER_NETWORK_KEEPALIVE_TIME: &str = "alluxio.worker.network.keepalive.time";
/// How long a worker waits for a ping's answer before it closes the
/// connection (and frees what its streams held).
pub const WORKER_NETWORK_KEEPALIVE_TIMEOUT: &str = "alluxio.worker.network.keepalive.timeout";
/// How long a worker retries connecting to the master at start.
pub const WORKER_MASTER_CONNECT_RETRY_TIMEOUT: &str = "alluxio.worker.master.connect.retry.timeout";

/// Block size of new files.
pub const USER_BLOCK_SIZE_BYTES_DEFAULT: &str = "alluxio.user.block.size.bytes.default";
/// Write type of new files.
pub const USER_FILE_WRITE_TYPE_DEFAULT: &str = "alluxio.user.file.writetype.default";
/// Read type of opened files.
pub const USER_FILE_READ_TYPE_DEFAULT: &str = "alluxio.user.file.readtype.default";
/// First client retry sleep.
pub const USER_RPC_RETRY_BASE_SLEEP: &str = "alluxio.user.rpc.retry.base.sleep";
/// Longest client retry sleep.
pub const USER_RPC_RETRY_MAX_SLEEP: &str = "alluxio.user.rpc.retry.max.sleep";
/// Total time a client keeps retrying an RPC.
pub const USER_RPC_RETRY_MAX_DURATION: &str = "alluxio.user.rpc.retry.max.duration";
/// Size of the chunks a client reads from a worker.
pub const USER_NETWORK_READER_CHUNK_SIZE_BYTES: &str =
    "alluxio.user.network.reader.chunk.size.bytes";
/// Whether a client reads blocks cached by a worker on its own machine
/// straight from the worker's files.
pub const USER_SHORT_CIRCUIT_ENABLED: &str = "alluxio.user.short.circuit.enabled";

/// Whether the FUSE daemon serves `/metrics` and a status page.
pub const FUSE_WEB_ENABLED: &str = "alluxio.fuse.web.enabled";
/// The FUSE daemon's web port.
pub const FUSE_WEB_PORT: &str = "alluxio.fuse.web.port";

/// Whether masters elect a leader through ZooKeeper.
pub const ZOOKEEPER_ENABLED: &str = "alluxio.zookeeper.enabled";
/// Comma-separated `host:port` list of ZooKeeper servers.
pub const ZOOKEEPER_ADDRESS: &str = "alluxio.zookeeper.address";
/// ZooKeeper session timeout.
pub const ZOOKEEPER_SESSION_TIMEOUT: &str = "alluxio.zookeeper.session.timeout";
/// ZooKeeper path of the leader election.
pub const ZOOKEEPER_ELECTION_PATH: &str = "alluxio.zookeeper.election.path";
/// ZooKeeper path where the leader publishes its address.
pub const ZOOKEEPER_LEADER_PATH: &str = "alluxio.zookeeper.leader.path";

/// Whether file permissions are checked.
pub const SECURITY_AUTHORIZATION_PERMISSION_ENABLED: &str =
    "alluxio.security.authorization.permission.enabled";

/// Returns the name of a per-tier property, e.g. `tier_key(1, "dirs.path")`
/// is `alluxio.worker.tieredstore.level1.dirs.path`.
pub fn tier_key(level: usize, field: &str) -> String {
    format!("alluxio.worker.tieredstore.level{level}.{field}")
}

/// Write types of `alluxio.user.file.writetype.default`.
pub const WRITE_TYPES: &[&str] = &["MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"];
/// Read types of `alluxio.user.file.readtype.default`.
pub const READ_TYPES: &[&str] = &["NO_CACHE", "CACHE", "CACHE_PROMOTE"];
/// Targets of `alluxio.logs.target`.
pub const LOG_TARGETS: &[&str] = &["AUTO", "STDERR", "FILE"];
/// Metastores of `alluxio.master.metastore`.
pub const METASTORES: &[&str] = &["HEAP"];

const fn key(
    name: &'static str,
    default: Option<&'static str>,
    kind: Kind,
    description: &'static str,
) -> PropertyKey {
    PropertyKey {
        name,
        default,
        kind,
        description,
    }
}

/// Every known property.
pub static KEYS: &[PropertyKey] = &[
    key(
        HOME,
        Some("/opt/alluxio"),
        Kind::String,
        "Alluxio installation directory.",
    ),
    key(
        WORK_DIR,
        None,
        Kind::String,
        "Directory for this node's state; computed: $HOME/.alluxio, else /tmp/alluxio-<uid>.",
    ),
    key(
        CONF_DIR,
        None,
        Kind::String,
        "Configuration directory; computed: where alluxio-site.properties was found.",
    ),
    key(
        LOGS_DIR,
        Some("${alluxio.work.dir}/logs"),
        Kind::String,
        "Directory for log files.",
    ),
    key(
        LOGS_LEVEL,
        Some("info"),
        Kind::String,
        "Log filter (a level or an EnvFilter directive); RUST_LOG wins.",
    ),
    key(
        LOGS_TARGET,
        Some("AUTO"),
        Kind::Enum(LOG_TARGETS),
        "Where server logs go: AUTO (stderr under systemd or when stderr is kept, else <logs.dir>/<process>.log), STDERR or FILE.",
    ),
    key(
        LOGS_MAX_SIZE,
        Some("10MB"),
        Kind::Bytes,
        "Size at which a log file is rotated.",
    ),
    key(
        LOGS_MAX_FILES,
        Some("10"),
        Kind::Int,
        "Rotated log files kept besides the current one.",
    ),
    key(
        MASTER_HOSTNAME,
        Some("localhost"),
        Kind::String,
        "Host name of the master.",
    ),
    key(
        MASTER_RPC_PORT,
        Some("19998"),
        Kind::Port,
        "Master RPC port.",
    ),
    key(
        MASTER_WEB_PORT,
        Some("19999"),
        Kind::Port,
        "Master web port.",
    ),
    key(
        MASTER_RPC_ADDRESSES,
        None,
        Kind::List,
        "host:port of every master.",
    ),
    key(
        MASTER_JOURNAL_FOLDER,
        Some("${alluxio.work.dir}/journal"),
        Kind::String,
        "Journal location.",
    ),
    key(
        MASTER_JOURNAL_CHECKPOINT_PERIOD_ENTRIES,
        Some("2000000"),
        Kind::Int,
        "Journal entries between checkpoints.",
    ),
    key(
        MASTER_MOUNT_TABLE_ROOT_UFS,
        Some("${alluxio.work.dir}/underFSStorage"),
        Kind::String,
        "Under storage mounted at the root.",
    ),
    key(
        MASTER_INCOMPLETE_FILE_TIMEOUT,
        Some("1h"),
        Kind::Duration,
        "How long a file version may stay incomplete with no block committed and no byte \
         staged before the master ends it (its writer crashed).",
    ),
    key(
        MASTER_WORKER_TIMEOUT,
        Some("5min"),
        Kind::Duration,
        "Silence before a worker is lost.",
    ),
    key(
        MASTER_LOST_WORKER_DETECTION_INTERVAL,
        Some("10sec"),
        Kind::Duration,
        "Interval between lost-worker checks.",
    ),
    key(
        MASTER_METASTORE,
        Some("HEAP"),
        Kind::Enum(METASTORES),
        "Metadata store.",
    ),
    key(
        WORKER_HOSTNAME,
        Some("localhost"),
        Kind::String,
        "Host name of the worker.",
    ),
    key(
        WORKER_RPC_PORT,
        Some("29999"),
        Kind::Port,
        "Worker RPC port.",
    ),
    key(
        WORKER_WEB_PORT,
        Some("30000"),
        Kind::Port,
        "Worker web port.",
    ),
    key(
        WORKER_TIERED_STORE_LEVELS,
        Some("1"),
        Kind::Int,
        "Number of storage tiers.",
    ),
    key(
        WORKER_RAMDISK_SIZE,
        Some("1GB"),
        Kind::Bytes,
        "Size of the memory tier.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL0_ALIAS,
        Some("MEM"),
        Kind::String,
        "Tier 0 name.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL0_DIRS_PATH,
        Some("/dev/shm"),
        Kind::List,
        "Tier 0 dirs.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL0_DIRS_QUOTA,
        Some("${alluxio.worker.ramdisk.size}"),
        Kind::BytesList,
        "Tier 0 directory capacities.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL0_HIGH_WATERMARK_RATIO,
        Some("0.95"),
        Kind::Ratio,
        "Tier 0 usage at which eviction starts.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL0_LOW_WATERMARK_RATIO,
        Some("0.7"),
        Kind::Ratio,
        "Tier 0 usage eviction returns to.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL1_ALIAS,
        Some("SSD"),
        Kind::String,
        "Tier 1 name.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL1_DIRS_PATH,
        None,
        Kind::List,
        "Tier 1 dirs.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL1_DIRS_QUOTA,
        None,
        Kind::BytesList,
        "Tier 1 capacities.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL1_HIGH_WATERMARK_RATIO,
        Some("0.95"),
        Kind::Ratio,
        "Tier 1 usage at which eviction starts.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL1_LOW_WATERMARK_RATIO,
        Some("0.7"),
        Kind::Ratio,
        "Tier 1 usage eviction returns to.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL2_ALIAS,
        Some("HDD"),
        Kind::String,
        "Tier 2 name.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL2_DIRS_PATH,
        None,
        Kind::List,
        "Tier 2 dirs.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL2_DIRS_QUOTA,
        None,
        Kind::BytesList,
        "Tier 2 capacities.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL2_HIGH_WATERMARK_RATIO,
        Some("0.95"),
        Kind::Ratio,
        "Tier 2 usage at which eviction starts.",
    ),
    key(
        WORKER_TIERED_STORE_LEVEL2_LOW_WATERMARK_RATIO,
        Some("0.7"),
        Kind::Ratio,
        "Tier 2 usage eviction returns to.",
    ),
    key(
        WORKER_BLOCK_HEARTBEAT_INTERVAL,
        Some("1sec"),
        Kind::Duration,
        "Worker heartbeat interval.",
    ),
    key(
        WORKER_BLOCK_HEARTBEAT_TIMEOUT,
        Some("10min"),
        Kind::Duration,
        "Heartbeat failures tolerated before the worker re-registers.",
    ),
    key(
        WORKER_NETWORK_KEEPALIVE_TIME,
        Some("30sec"),
        Kind::Duration,
        "Silence on a worker connection after which the worker pings the client.",
    ),
    key(
        WORKER_NETWORK_KEEPALIVE_TIMEOUT,
        Some("30sec"),
        Kind::Duration,
        "How long a ping may go unanswered before the worker drops the connection and \
         frees what its block streams reserved.",
    ),
    key(
        WORKER_MASTER_CONNECT_RETRY_TIMEOUT,
        Some("1hour"),
        Kind::Duration,
        "How long a starting worker retries reaching the master.",
    ),
    key(
        USER_BLOCK_SIZE_BYTES_DEFAULT,
        Some("64MB"),
        Kind::Bytes,
        "Block size of new files.",
    ),
    key(
        USER_FILE_WRITE_TYPE_DEFAULT,
        Some("CACHE_THROUGH"),
        Kind::Enum(WRITE_TYPES),
        "Write type of new files.",
    ),
    key(
        USER_FILE_READ_TYPE_DEFAULT,
        Some("CACHE"),
        Kind::Enum(READ_TYPES),
        "Read type of opened files.",
    ),
    key(
        USER_RPC_RETRY_BASE_SLEEP,
        Some("50ms"),
        Kind::Duration,
        "First retry sleep.",
    ),
    key(
        USER_RPC_RETRY_MAX_SLEEP,
        Some("3sec"),
        Kind::Duration,
        "Longest retry sleep.",
    ),
    key(
        USER_RPC_RETRY_MAX_DURATION,
        Some("2min"),
        Kind::Duration,
        "Total retry time.",
    ),
    key(
        USER_NETWORK_READER_CHUNK_SIZE_BYTES,
        Some("1MB"),
        Kind::Bytes,
        "Chunk size of block reads.",
    ),
    key(
        USER_SHORT_CIRCUIT_ENABLED,
        Some("true"),
        Kind::Bool,
        "Read blocks cached by a worker on the same machine directly from its files.",
    ),
    key(
        FUSE_WEB_ENABLED,
        Some("false"),
        Kind::Bool,
        "Whether the FUSE daemon serves /metrics and a status page.",
    ),
    key(
        FUSE_WEB_PORT,
        Some("49999"),
        Kind::Port,
        "FUSE daemon web port (used when alluxio.fuse.web.enabled).",
    ),
    key(
        ZOOKEEPER_ENABLED,
        Some("false"),
        Kind::Bool,
        "Leader election through ZooKeeper.",
    ),
    key(
        ZOOKEEPER_ADDRESS,
        None,
        Kind::List,
        "host:port of every ZooKeeper server.",
    ),
    key(
        ZOOKEEPER_SESSION_TIMEOUT,
        Some("5sec"),
        Kind::Duration,
        "ZooKeeper session timeout: how long a crashed leader keeps its leadership (see docs/decisions/0003-zookeeper-session-timeout.md).",
    ),
    key(
        ZOOKEEPER_ELECTION_PATH,
        Some("/alluxio/election"),
        Kind::String,
        "Election path.",
    ),
    key(
        ZOOKEEPER_LEADER_PATH,
        Some("/alluxio/leader"),
        Kind::String,
        "Leader path.",
    ),
    key(
        SECURITY_AUTHORIZATION_PERMISSION_ENABLED,
        Some("true"),
        Kind::Bool,
        "Whether permissions are checked.",
    ),
];

/// Older names Alluxio still accepts, with the name they stand for.
pub static ALIASES: &[(&str, &str)] = &[("alluxio.worker.memory.size", WORKER_RAMDISK_SIZE)];

/// Alluxio properties that are accepted without a warning but have no
/// effect here. An entry ending in `.` covers every name it starts.
pub static KNOWN_UNUSED: &[&str] = &[
    "alluxio.debug",
    "alluxio.fuse.",
    "alluxio.integration.",
    "alluxio.job.",
    "alluxio.locality.",
    "alluxio.master.embedded.journal.",
    "alluxio.master.journal.log.size.bytes.max",
    "alluxio.master.journal.type",
    "alluxio.master.mount.table.root.option.",
    "alluxio.master.mount.table.root.readonly",
    "alluxio.master.mount.table.root.shared",
    "alluxio.master.security.impersonation.",
    "alluxio.metrics.",
    "alluxio.network.",
    "alluxio.proxy.",
    "alluxio.security.",
    "alluxio.site.conf.dir",
    "alluxio.tmp.dirs",
    "alluxio.underfs.",
    "alluxio.user.file.buffer.bytes",
    "alluxio.user.file.metadata.",
    "alluxio.user.metrics.",
    "alluxio.web.",
    "alluxio.worker.data.server.",
    "alluxio.worker.tieredstore.level0.dirs.mediumtype",
    "alluxio.worker.tieredstore.level1.dirs.mediumtype",
    "alluxio.worker.tieredstore.level2.dirs.mediumtype",
];

/// Finds a known property by name (aliases included).
pub fn lookup(name: &str) -> Option<&'static PropertyKey> {
    let name = canonical_name(name);
    KEYS.iter().find(|key| key.name == name)
}

/// Maps an older alias to the current name; other names are returned as is.
pub fn canonical_name(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, current)| current)
}

/// Tells whether `name` is an Alluxio property that is deliberately ignored.
pub fn is_known_unused(name: &str) -> bool {
    KNOWN_UNUSED.iter().any(|entry| {
        if entry.ends_with('.') {
            name.starts_with(entry)
        } else {
            name == *entry
        }
    })
}

/// Tells whether loading should warn about `name`: an `alluxio.*` name that
/// is neither known nor deliberately ignored. Other namespaces (such as
/// `fs.s3a.*`) belong to someone else and never warn.
pub fn is_unknown_alluxio_key(name: &str) -> bool {
    name.starts_with("alluxio.") && lookup(name).is_none() && !is_known_unused(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_have_their_kind() {
        for (index, key) in KEYS.iter().enumerate() {
            assert!(key.name.starts_with("alluxio."), "{}", key.name);
            assert!(
                KEYS[index + 1..].iter().all(|other| other.name != key.name),
                "duplicate {}",
                key.name
            );
            if let Some(default) = key.default.filter(|text| !text.contains("${")) {
                assert_eq!(key.kind.check(default), Ok(()), "{}", key.name);
            }
        }
    }

    #[test]
    fn tier_keys_match_constants() {
        assert_eq!(tier_key(0, "alias"), WORKER_TIERED_STORE_LEVEL0_ALIAS);
        assert_eq!(
            tier_key(1, "dirs.quota"),
            WORKER_TIERED_STORE_LEVEL1_DIRS_QUOTA
        );
        assert_eq!(
            tier_key(2, "watermark.low.ratio"),
            WORKER_TIERED_STORE_LEVEL2_LOW_WATERMARK_RATIO
        );
    }

    #[test]
    fn classifies_names() {
        assert!(lookup(MASTER_HOSTNAME).is_some());
        assert_eq!(
            lookup("alluxio.worker.memory.size").map(|k| k.name),
            Some(WORKER_RAMDISK_SIZE)
        );
        assert!(!is_unknown_alluxio_key(MASTER_HOSTNAME));
        assert!(!is_unknown_alluxio_key("alluxio.job.master.hostname"));
        assert!(!is_unknown_alluxio_key("alluxio.master.journal.type"));
        assert!(!is_unknown_alluxio_key("fs.s3a.access.key"));
        assert!(is_unknown_alluxio_key("alluxio.master.hostnam"));
        assert!(is_unknown_alluxio_key("alluxio.master.journal.typo"));
    }

    #[test]
    fn enum_match_is_case_insensitive() {
        assert_eq!(
            canonical_enum(WRITE_TYPES, "cache_through"),
            Some("CACHE_THROUGH")
        );
        assert_eq!(canonical_enum(WRITE_TYPES, "cache"), None);
        assert_eq!(
            Kind::Enum(READ_TYPES).check("bogus"),
            Err("one of NO_CACHE, CACHE, CACHE_PROMOTE".to_string())
        );
    }
}
