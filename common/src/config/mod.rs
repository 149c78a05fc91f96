//! Alluxio-compatible configuration: every process reads its settings here,
//! from the same places and with the same property names as Alluxio, so an
//! existing Alluxio configuration directory works unchanged.
//!
//! [`Config::load`] merges defaults, `alluxio-site.properties`,
//! `alluxio-env.sh`, the environment and command-line overrides (see
//! [`sources`] for the order), then expands `${key}` references. Lookups
//! parse Alluxio's value forms ([`units`]); [`Config::validate`] checks every
//! known property at start so a bad value fails at once, naming the key,
//! the value and what is accepted.

mod env_file;
mod error;
pub mod keys;
mod properties;
pub mod sources;
mod substitute;
pub mod units;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ConfigError;
pub use keys::{Kind, PropertyKey};
pub use sources::{LoadOptions, Process, Source};
pub use units::{format_bytes, parse_bool, parse_bytes, parse_duration};

/// A merged configuration: for each property, its winning raw value and
/// where that came from. `${key}` references are expanded on lookup, so
/// [`Config::set`] of one key is seen by every value that refers to it.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<String, Entry>,
    site_file: Option<PathBuf>,
    env_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Entry {
    value: String,
    source: Source,
}

impl Config {
    /// Loads the configuration of `process` from the real environment and
    /// the standard directories, with command-line `overrides` on top.
    pub fn load(process: Process, overrides: Vec<(String, String)>) -> Result<Self, ConfigError> {
        Self::load_with(LoadOptions::from_process_env(process, overrides))
    }

    /// Loads the configuration described by `options`. Fails on an unreadable
    /// or malformed file and on a `${key}` reference that is missing or
    /// circular; warns about unknown `alluxio.*` properties, which are kept.
    pub fn load_with(options: LoadOptions) -> Result<Self, ConfigError> {
        let gathered = sources::gather(&options)?;
        let conf_dir = gathered
            .site_file
            .as_deref()
            .or(gathered.env_file.as_deref())
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .or_else(|| options.search_dirs().into_iter().next());
        let mut config = Config::with_defaults(&options.env, conf_dir.as_deref());
        config.site_file = gathered.site_file;
        config.env_file = gathered.env_file;
        for setting in gathered.settings {
            config.insert(setting.key, setting.value, setting.source);
        }
        config.check_references()?;
        Ok(config)
    }

    /// Only the built-in defaults, computed without any environment (so the
    /// work directory is `/tmp/alluxio-<uid>`); a base for tests and tools.
    pub fn defaults() -> Self {
        Config::with_defaults(&HashMap::new(), None)
    }

    fn with_defaults(env: &HashMap<String, String>, conf_dir: Option<&Path>) -> Self {
        let mut values: BTreeMap<String, Entry> = keys::KEYS
            .iter()
            .filter_map(|key| Some((key.name.to_string(), key.default?.to_string())))
            .chain([(keys::WORK_DIR.to_string(), default_work_dir(env))])
            .chain(conf_dir.map(|dir| (keys::CONF_DIR.to_string(), dir.display().to_string())))
            .map(|(key, value)| {
                (
                    key,
                    Entry {
                        value,
                        source: Source::Default,
                    },
                )
            })
            .collect();
        if conf_dir.is_none() {
            values.insert(
                keys::CONF_DIR.to_string(),
                Entry {
                    value: "${alluxio.home}/conf".to_string(),
                    source: Source::Default,
                },
            );
        }
        Config {
            values,
            site_file: None,
            env_file: None,
        }
    }

    fn insert(&mut self, key: String, value: String, source: Source) {
        if keys::is_unknown_alluxio_key(&key) {
            tracing::warn!("unknown property {key} in {source}; it is kept but nothing reads it");
        }
        let key = keys::canonical_name(&key).to_string();
        self.values.insert(key, Entry { value, source });
    }

    /// Sets `key` as a command-line value would.
    pub fn set(&mut self, key: &str, value: &str) {
        self.insert(key.to_string(), value.to_string(), Source::CommandLine);
    }

    /// The site properties file that was read, if any.
    pub fn site_file(&self) -> Option<&Path> {
        self.site_file.as_deref()
    }

    /// The `alluxio-env.sh` file that was read, if any.
    pub fn env_file(&self) -> Option<&Path> {
        self.env_file.as_deref()
    }

    /// Returns the value of `key` with `${...}` references expanded.
    pub fn get(&self, key: &str) -> Result<String, ConfigError> {
        let key = keys::canonical_name(key);
        let entry = self.values.get(key).ok_or_else(|| ConfigError::Missing {
            key: key.to_string(),
        })?;
        let lookup = |name: &str| {
            self.values
                .get(keys::canonical_name(name))
                .map(|e| e.value.as_str())
        };
        substitute::expand(key, &entry.value, &lookup).map_err(|message| {
            ConfigError::Substitution {
                key: key.to_string(),
                message,
            }
        })
    }

    /// Returns the value of `key`, or `None` when it is unset (or, only
    /// possible after [`Config::set`], its references cannot be expanded).
    pub fn get_opt(&self, key: &str) -> Option<String> {
        self.get(key).ok()
    }

    /// Parses the value of `key` with `parse`, turning its failure into
    /// [`ConfigError::InvalidValue`].
    fn get_parsed<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let value = self.get(key)?;
        parse(&value).map_err(|expected| ConfigError::InvalidValue {
            key: keys::canonical_name(key).to_string(),
            value,
            expected,
        })
    }

    /// Returns a size such as `64MB` in bytes.
    pub fn get_bytes(&self, key: &str) -> Result<u64, ConfigError> {
        self.get_parsed(key, units::parse_bytes)
    }

    /// Returns comma-separated sizes (`10GB,100GB`) in bytes.
    pub fn get_bytes_list(&self, key: &str) -> Result<Vec<u64>, ConfigError> {
        self.get_parsed(key, |value| {
            keys::split_list(value)
                .map(units::parse_bytes)
                .collect::<Result<_, _>>()
                .map_err(|_| Kind::BytesList.expected())
        })
    }

    /// Returns a duration such as `5min`; a plain number is milliseconds.
    pub fn get_duration(&self, key: &str) -> Result<Duration, ConfigError> {
        self.get_parsed(key, units::parse_duration)
    }

    /// Returns a non-negative integer.
    pub fn get_u64(&self, key: &str) -> Result<u64, ConfigError> {
        self.get_parsed(key, units::parse_u64)
    }

    /// Returns a port from 1 to 65535.
    pub fn get_port(&self, key: &str) -> Result<u16, ConfigError> {
        self.get_parsed(key, units::parse_port)
    }

    /// Returns `true` or `false` (any letter case).
    pub fn get_bool(&self, key: &str) -> Result<bool, ConfigError> {
        self.get_parsed(key, units::parse_bool)
    }

    /// Returns a ratio from 0 to 1.
    pub fn get_ratio(&self, key: &str) -> Result<f64, ConfigError> {
        self.get_parsed(key, units::parse_ratio)
    }

    /// Returns comma-separated items, trimmed, empty items dropped.
    pub fn get_list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        let value = self.get(key)?;
        Ok(keys::split_list(&value).map(str::to_string).collect())
    }

    /// Returns the canonical upper-case spelling of an enumerated value
    /// (`cache_through` gives `CACHE_THROUGH`). The accepted names come from
    /// the registry; a key not registered as an enumeration is returned
    /// trimmed and upper-cased.
    pub fn get_enum(&self, key: &str) -> Result<String, ConfigError> {
        match keys::lookup(key).map(|property| property.kind) {
            Some(Kind::Enum(names)) => self.get_parsed(key, |value| {
                keys::canonical_enum(names, value)
                    .map(str::to_string)
                    .ok_or_else(|| Kind::Enum(names).expected())
            }),
            _ => Ok(self.get(key)?.trim().to_ascii_uppercase()),
        }
    }

    /// Tells where the value of `key` came from.
    pub fn source(&self, key: &str) -> Source {
        self.values
            .get(keys::canonical_name(key))
            .map_or(Source::Unset, |entry| entry.source.clone())
    }

    /// Lists every property that has a value, sorted by name, with its
    /// expanded value (the raw text if it cannot be expanded) and source.
    pub fn entries(&self) -> impl Iterator<Item = (&str, String, &Source)> + '_ {
        self.values.iter().map(|(key, entry)| {
            let value = self.get(key).unwrap_or_else(|_| entry.value.clone());
            (key.as_str(), value, &entry.source)
        })
    }

    /// Options for opening a UFS: the site-wide UFS properties (`s3a.*`,
    /// `aws.*`, `alluxio.underfs.*`) overlaid with the properties under
    /// `prefix` (e.g. `alluxio.master.mount.table.root.option.`), stripped.
    pub fn ufs_options(&self, prefix: &str) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for (key, value, _) in self.entries() {
            if ["s3a.", "aws.", "alluxio.underfs."]
                .iter()
                .any(|p| key.starts_with(p))
            {
                out.insert(key.to_string(), value);
            }
        }
        for (key, value, _) in self.entries() {
            if let Some(rest) = key.strip_prefix(prefix) {
                out.insert(rest.to_string(), value);
            }
        }
        out
    }

    /// Checks every value: references expand, and each known property has
    /// the form of its [`Kind`]. Returns the first error in name order.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for key in self.values.keys() {
            let value = self.get(key)?;
            if let Some(property) = keys::lookup(key) {
                property
                    .kind
                    .check(&value)
                    .map_err(|expected| ConfigError::InvalidValue {
                        key: key.clone(),
                        value,
                        expected,
                    })?;
            }
        }
        Ok(())
    }

    fn check_references(&self) -> Result<(), ConfigError> {
        self.values
            .keys()
            .try_for_each(|key| self.get(key).map(drop))
    }
}

/// `$HOME/.alluxio`, else `/tmp/alluxio-<uid>` (or `<USER>` where the uid is
/// unavailable), so two users on one machine do not share state.
fn default_work_dir(env: &HashMap<String, String>) -> String {
    if let Some(home) = env.get("HOME").filter(|home| !home.is_empty()) {
        return Path::new(home).join(".alluxio").display().to_string();
    }
    let user = current_uid()
        .map(|uid| uid.to_string())
        .or_else(|| env.get("USER").filter(|user| !user.is_empty()).cloned())
        .unwrap_or_else(|| "unknown".to_string());
    format!("/tmp/alluxio-{user}")
}

/// The uid owning this process, read from `/proc/self` to avoid a libc call.
fn current_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|meta| meta.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}
