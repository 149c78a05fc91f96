//! Where property values come from, and in which order they override each
//! other.
//!
//! From lowest to highest priority: defaults, `alluxio-site.properties`,
//! then the environment — variables named in [`ENV_PROPERTIES`], then
//! `-Dkey=value` items of `ALLUXIO_JAVA_OPTS`, then those of the process's own
//! `*_JAVA_OPTS` — and last the command line. At each environment step the
//! assignments of `alluxio-env.sh` come before (lose to) the real process
//! environment.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::env_file::parse_env_file;
use super::keys;
use super::properties::read_properties_file;
use super::ConfigError;

/// Name of the site properties file.
pub const SITE_PROPERTIES_FILE: &str = "alluxio-site.properties";
/// Name of the environment script.
pub const ENV_FILE: &str = "alluxio-env.sh";
/// Java options variable read by every process.
pub const JAVA_OPTS_VAR: &str = "ALLUXIO_JAVA_OPTS";

/// Environment variables that set a property directly, as Alluxio's scripts do.
pub const ENV_PROPERTIES: &[(&str, &str)] = &[
    ("ALLUXIO_MASTER_HOSTNAME", keys::MASTER_HOSTNAME),
    ("ALLUXIO_WORKER_HOSTNAME", keys::WORKER_HOSTNAME),
    (
        "ALLUXIO_MASTER_MOUNT_TABLE_ROOT_UFS",
        keys::MASTER_MOUNT_TABLE_ROOT_UFS,
    ),
    (
        "ALLUXIO_RAM_FOLDER",
        keys::WORKER_TIERED_STORE_LEVEL0_DIRS_PATH,
    ),
    ("ALLUXIO_WORKER_RAMDISK_SIZE", keys::WORKER_RAMDISK_SIZE),
    ("ALLUXIO_LOGS_DIR", keys::LOGS_DIR),
];

/// The kind of process loading the configuration; it selects which
/// `*_JAVA_OPTS` variable applies besides `ALLUXIO_JAVA_OPTS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// `alluxio-master`.
    Master,
    /// `alluxio-worker`.
    Worker,
    /// Clients and the `alluxio` command.
    User,
    /// The FUSE daemon.
    Fuse,
}

impl Process {
    /// The process-specific Java options variable, e.g. `ALLUXIO_MASTER_JAVA_OPTS`.
    pub fn java_opts_var(self) -> &'static str {
        match self {
            Process::Master => "ALLUXIO_MASTER_JAVA_OPTS",
            Process::Worker => "ALLUXIO_WORKER_JAVA_OPTS",
            Process::User => "ALLUXIO_USER_JAVA_OPTS",
            Process::Fuse => "ALLUXIO_FUSE_JAVA_OPTS",
        }
    }
}

/// Where the winning value of a property came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// An `alluxio-site.properties` file.
    SiteProperties(PathBuf),
    /// An assignment in an `alluxio-env.sh` file.
    EnvFile(PathBuf),
    /// The named process environment variable.
    Environment(String),
    /// A command-line flag or [`Config::set`](super::Config::set).
    CommandLine,
    /// The property has no value.
    Unset,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::SiteProperties(path) | Source::EnvFile(path) => {
                write!(f, "{}", path.display())
            }
            Source::Environment(var) => write!(f, "environment variable {var}"),
            Source::CommandLine => f.write_str("command line"),
            Source::Unset => f.write_str("unset"),
        }
    }
}

/// Everything [`Config::load_with`](super::Config::load_with) reads, so tests
/// can supply their own environment and directories.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Selects the process-specific `*_JAVA_OPTS` variable.
    pub process: Process,
    /// Command-line `key=value` overrides, applied last in order.
    pub overrides: Vec<(String, String)>,
    /// The process environment.
    pub env: HashMap<String, String>,
    /// Directories searched, in order, for `alluxio-site.properties` (and
    /// `alluxio-env.sh`); `None` means `$ALLUXIO_CONF_DIR`, `$HOME/.alluxio`,
    /// `/etc/alluxio` taken from `env`.
    pub conf_dirs: Option<Vec<PathBuf>>,
}

impl LoadOptions {
    /// Options with an empty environment, no overrides and the standard
    /// search directories (of which only `/etc/alluxio` remains without env).
    pub fn new(process: Process) -> Self {
        LoadOptions {
            process,
            overrides: Vec::new(),
            env: HashMap::new(),
            conf_dirs: None,
        }
    }

    /// Options reading the real process environment. Variables whose name or
    /// value is not UTF-8 are left out.
    pub fn from_process_env(process: Process, overrides: Vec<(String, String)>) -> Self {
        let env = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        LoadOptions {
            process,
            overrides,
            env,
            conf_dirs: None,
        }
    }

    /// The directories searched for configuration files.
    pub fn search_dirs(&self) -> Vec<PathBuf> {
        if let Some(dirs) = &self.conf_dirs {
            return dirs.clone();
        }
        let mut dirs = Vec::new();
        if let Some(dir) = non_empty(&self.env, "ALLUXIO_CONF_DIR") {
            dirs.push(PathBuf::from(dir));
        }
        if let Some(home) = non_empty(&self.env, "HOME") {
            dirs.push(Path::new(home).join(".alluxio"));
        }
        dirs.push(PathBuf::from("/etc/alluxio"));
        dirs
    }
}

fn non_empty<'a>(env: &'a HashMap<String, String>, var: &str) -> Option<&'a str> {
    env.get(var)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

/// One value from one source, before merging.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The property name.
    pub key: String,
    /// The raw value (references not yet expanded).
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The files found and the settings they and the environment give, lowest
/// priority first (defaults not included).
#[derive(Debug, Default)]
pub struct Gathered {
    /// The site properties file read, if any.
    pub site_file: Option<PathBuf>,
    /// The env file read, if any.
    pub env_file: Option<PathBuf>,
    /// Settings in increasing priority.
    pub settings: Vec<Setting>,
}

/// Reads the site properties, `alluxio-env.sh`, the environment and the
/// overrides into settings ordered by increasing priority.
pub fn gather(options: &LoadOptions) -> Result<Gathered, ConfigError> {
    let dirs = options.search_dirs();
    let mut gathered = Gathered {
        site_file: find_first(&dirs, SITE_PROPERTIES_FILE),
        ..Gathered::default()
    };
    if let Some(path) = &gathered.site_file {
        for property in read_properties_file(path)? {
            gathered.settings.push(Setting::new(
                property.key,
                property.value,
                Source::SiteProperties(path.clone()),
            ));
        }
    }

    gathered.env_file = match gathered.site_file.as_deref().and_then(Path::parent) {
        Some(dir) => Some(dir.join(ENV_FILE)).filter(|path| path.is_file()),
        None => find_first(&dirs, ENV_FILE),
    };
    let file_env = match &gathered.env_file {
        Some(path) => {
            let text = std::fs::read(path).map_err(|source| ConfigError::Io {
                path: path.clone(),
                source,
            })?;
            parse_env_file(&String::from_utf8_lossy(&text), &options.env)
        }
        None => HashMap::new(),
    };

    // Each step: the env file's value first, then the real environment's.
    let layers = [(&file_env, true), (&options.env, false)];
    let env_source = |var: &str, from_file: bool| match (&gathered.env_file, from_file) {
        (Some(path), true) => Source::EnvFile(path.clone()),
        _ => Source::Environment(var.to_string()),
    };
    let mut env_settings = Vec::new();
    for (var, key) in ENV_PROPERTIES {
        for (env, from_file) in layers {
            if let Some(value) = non_empty(env, var) {
                env_settings.push((
                    key.to_string(),
                    value.to_string(),
                    env_source(var, from_file),
                ));
            }
        }
    }
    for var in [JAVA_OPTS_VAR, options.process.java_opts_var()] {
        for (env, from_file) in layers {
            for (key, value) in env
                .get(var)
                .map(|opts| java_properties(opts))
                .unwrap_or_default()
            {
                env_settings.push((key, value, env_source(var, from_file)));
            }
        }
    }
    for (key, value, source) in env_settings {
        gathered.settings.push(Setting::new(key, value, source));
    }

    for (key, value) in &options.overrides {
        gathered.settings.push(Setting::new(
            key.clone(),
            value.clone(),
            Source::CommandLine,
        ));
    }
    Ok(gathered)
}

impl Setting {
    fn new(key: String, value: String, source: Source) -> Self {
        Setting { key, value, source }
    }
}

/// The first `dir/name` that is a file.
fn find_first(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// Extracts the `-Dkey=value` items of a Java options string, in order.
/// Other items (`-Xmx4g`, `-XX:...`) are ignored; `-Dkey` alone sets an
/// empty value, as in Java.
pub fn java_properties(opts: &str) -> Vec<(String, String)> {
    split_words(opts)
        .into_iter()
        .filter_map(|word| {
            let definition = word.strip_prefix("-D")?;
            let (key, value) = definition.split_once('=').unwrap_or((definition, ""));
            (!key.is_empty()).then(|| (key.to_string(), value.to_string()))
        })
        .collect()
}

/// Splits on whitespace outside quotes and removes the quotes, so
/// `-Da="x y" '-Db=z'` gives `-Da=x y` and `-Db=z`. An unclosed quote runs to
/// the end.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_opts_items() {
        let opts = " -Xmx4g -Dalluxio.a=1 -XX:+UseG1GC \"-Dalluxio.b=two words\"\n\
                    -Dalluxio.c='x=y' -Dflag -D=bad -Dalluxio.d=\"\"";
        assert_eq!(
            java_properties(opts),
            vec![
                ("alluxio.a".to_string(), "1".to_string()),
                ("alluxio.b".to_string(), "two words".to_string()),
                ("alluxio.c".to_string(), "x=y".to_string()),
                ("flag".to_string(), String::new()),
                ("alluxio.d".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn search_dirs_from_env() {
        let mut options = LoadOptions::new(Process::User);
        assert_eq!(options.search_dirs(), vec![PathBuf::from("/etc/alluxio")]);
        options.env.insert("HOME".into(), "/home/u".into());
        options
            .env
            .insert("ALLUXIO_CONF_DIR".into(), "/opt/conf".into());
        assert_eq!(
            options.search_dirs(),
            vec![
                PathBuf::from("/opt/conf"),
                PathBuf::from("/home/u/.alluxio"),
                PathBuf::from("/etc/alluxio")
            ]
        );
    }

    #[test]
    fn source_display() {
        assert_eq!(Source::Default.to_string(), "default");
        assert_eq!(
            Source::SiteProperties("/etc/alluxio/alluxio-site.properties".into()).to_string(),
            "/etc/alluxio/alluxio-site.properties"
        );
        assert_eq!(
            Source::Environment("ALLUXIO_MASTER_JAVA_OPTS".into()).to_string(),
            "environment variable ALLUXIO_MASTER_JAVA_OPTS"
        );
        assert_eq!(Source::CommandLine.to_string(), "command line");
    }
}
