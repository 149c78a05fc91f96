//! Tests of the merged configuration: precedence, files, substitution,
//! typed lookups and validation. They use their own temporary directories
//! and environment maps, never the real `$HOME` or `/etc/alluxio`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::keys::*;
use super::*;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "alluxio-config-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("create dir");
        std::fs::write(&path, text).expect("write file");
        path
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options(process: Process, dir: &Path, env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        process,
        overrides: Vec::new(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        conf_dirs: Some(vec![dir.to_path_buf()]),
    }
}

fn load(process: Process, dir: &Path, env: &[(&str, &str)]) -> Config {
    Config::load_with(options(process, dir, env)).expect("loads")
}

fn env_var(name: &str) -> Source {
    Source::Environment(name.to_string())
}

/// Every level sets fewer keys than the one below it, so each key shows the
/// highest level that set it.
fn precedence_fixture() -> (TempDir, LoadOptions) {
    let dir = TempDir::new();
    dir.write(
        "alluxio-site.properties",
        "alluxio.master.hostname=file\nalluxio.worker.hostname=file\n\
         alluxio.master.mount.table.root.ufs=file\nalluxio.logs.dir=file\n\
         alluxio.worker.ramdisk.size=1MB\nalluxio.user.block.size.bytes.default=1MB\n",
    );
    dir.write(
        "alluxio-env.sh",
        "ALLUXIO_MASTER_HOSTNAME=envfile\nALLUXIO_WORKER_HOSTNAME=envfile\n\
         ALLUXIO_MASTER_MOUNT_TABLE_ROOT_UFS=envfile\nALLUXIO_LOGS_DIR=envfile\n\
         ALLUXIO_WORKER_RAMDISK_SIZE=2MB\nALLUXIO_RAM_FOLDER=/envfile\n\
         ALLUXIO_JAVA_OPTS=\"-Dalluxio.worker.tieredstore.level0.dirs.path=/envfile-opts \
         -Dalluxio.zookeeper.address=envfile-opts\"\n",
    );
    let env = [
        ("ALLUXIO_MASTER_HOSTNAME", "env"),
        ("ALLUXIO_WORKER_HOSTNAME", "env"),
        ("ALLUXIO_MASTER_MOUNT_TABLE_ROOT_UFS", "env"),
        ("ALLUXIO_LOGS_DIR", "env"),
        ("ALLUXIO_RAM_FOLDER", "/env"),
        (
            "ALLUXIO_JAVA_OPTS",
            "-Xmx4g -Dalluxio.master.hostname=general -Dalluxio.worker.hostname=general \
             -Dalluxio.master.mount.table.root.ufs=general -Dalluxio.zookeeper.address=general",
        ),
        (
            "ALLUXIO_MASTER_JAVA_OPTS",
            "-Dalluxio.master.hostname=master -Dalluxio.worker.hostname=master",
        ),
    ];
    let mut options = options(Process::Master, dir.path(), &env);
    options.overrides = vec![(MASTER_HOSTNAME.to_string(), "override".to_string())];
    (dir, options)
}

#[test]
fn precedence_across_all_levels() {
    let (dir, options) = precedence_fixture();
    let site = dir.path().join("alluxio-site.properties");
    let env_file = dir.path().join("alluxio-env.sh");
    let config = Config::load_with(options).expect("loads");

    let expect = |key: &str, value: &str, source: Source| {
        assert_eq!(config.get(key).expect(key), value, "{key}");
        assert_eq!(config.source(key), source, "{key}");
    };
    expect(MASTER_HOSTNAME, "override", Source::CommandLine);
    expect(
        WORKER_HOSTNAME,
        "master",
        env_var("ALLUXIO_MASTER_JAVA_OPTS"),
    );
    expect(
        MASTER_MOUNT_TABLE_ROOT_UFS,
        "general",
        env_var("ALLUXIO_JAVA_OPTS"),
    );
    expect(LOGS_DIR, "env", env_var("ALLUXIO_LOGS_DIR"));
    expect(
        WORKER_RAMDISK_SIZE,
        "2MB",
        Source::EnvFile(env_file.clone()),
    );
    expect(
        USER_BLOCK_SIZE_BYTES_DEFAULT,
        "1MB",
        Source::SiteProperties(site.clone()),
    );
    expect(MASTER_WEB_PORT, "19999", Source::Default);
    // Java options, even from the env file, beat plain variables...
    expect(
        WORKER_TIERED_STORE_LEVEL0_DIRS_PATH,
        "/envfile-opts",
        Source::EnvFile(env_file),
    );
    // ...and the real environment's options beat the env file's.
    expect(ZOOKEEPER_ADDRESS, "general", env_var("ALLUXIO_JAVA_OPTS"));
    assert_eq!(config.site_file(), Some(site.as_path()));
    assert_eq!(
        config.get(CONF_DIR).expect("conf dir"),
        dir.path().display().to_string()
    );
}

#[test]
fn process_specific_java_opts_apply_only_to_their_process() {
    for process in [Process::Worker, Process::User, Process::Fuse] {
        let (_dir, mut options) = precedence_fixture();
        options.process = process;
        let config = Config::load_with(options).expect("loads");
        assert_eq!(
            config.get(WORKER_HOSTNAME).expect("set"),
            "general",
            "{process:?}"
        );
        assert_eq!(config.source(WORKER_HOSTNAME), env_var("ALLUXIO_JAVA_OPTS"));
    }
    let (_dir, mut options) = precedence_fixture();
    options.process = Process::Worker;
    options.env.insert(
        "ALLUXIO_WORKER_JAVA_OPTS".to_string(),
        "-Dalluxio.worker.hostname=worker".to_string(),
    );
    let config = Config::load_with(options).expect("loads");
    assert_eq!(config.get(WORKER_HOSTNAME).expect("set"), "worker");
}

#[test]
fn empty_environment_values_are_ignored() {
    let dir = TempDir::new();
    let config = load(
        Process::Master,
        dir.path(),
        &[("ALLUXIO_MASTER_HOSTNAME", "")],
    );
    assert_eq!(config.get(MASTER_HOSTNAME).expect("default"), "localhost");
    assert_eq!(config.source(MASTER_HOSTNAME), Source::Default);
}

#[test]
fn site_file_search_order() {
    let conf = TempDir::new();
    let home = TempDir::new();
    home.write(
        ".alluxio/alluxio-site.properties",
        "alluxio.master.hostname=from-home\n",
    );
    let env = [
        ("ALLUXIO_CONF_DIR", conf.path().to_str().expect("utf-8")),
        ("HOME", home.path().to_str().expect("utf-8")),
    ];
    let mut options = options(Process::User, conf.path(), &env);
    options.conf_dirs = None;
    let config = Config::load_with(options.clone()).expect("loads");
    assert_eq!(config.get(MASTER_HOSTNAME).expect("set"), "from-home");

    conf.write(
        "alluxio-site.properties",
        "alluxio.master.hostname=from-conf-dir\n",
    );
    let config = Config::load_with(options).expect("loads");
    assert_eq!(config.get(MASTER_HOSTNAME).expect("set"), "from-conf-dir");
    assert_eq!(
        config.source(MASTER_HOSTNAME),
        Source::SiteProperties(conf.path().join("alluxio-site.properties"))
    );
}

#[test]
fn properties_syntax_in_a_file() {
    let dir = TempDir::new();
    dir.write(
        "alluxio-site.properties",
        "# Alluxio site\n! old-style comment\n\n  alluxio.master.hostname = master-1  \n\
         alluxio.zookeeper.enabled: TRUE\nalluxio.zookeeper.address zk1:2181,\\\n    zk2:2181 , \\\n\
         \tzk3:2181\nalluxio.worker.memory.size=2GB\n",
    );
    let config = load(Process::Master, dir.path(), &[]);
    assert_eq!(config.get(MASTER_HOSTNAME).expect("set"), "master-1");
    assert!(config.get_bool(ZOOKEEPER_ENABLED).expect("bool"));
    assert_eq!(
        config.get_list(ZOOKEEPER_ADDRESS).expect("list"),
        vec!["zk1:2181", "zk2:2181", "zk3:2181"]
    );
    // The old name is an alias of the new one.
    assert_eq!(
        config.get_bytes(WORKER_RAMDISK_SIZE).expect("size"),
        2 << 30
    );
    assert_eq!(
        config
            .get_bytes_list(WORKER_TIERED_STORE_LEVEL0_DIRS_QUOTA)
            .expect("q"),
        [2 << 30]
    );
}

#[test]
fn parse_error_names_file_and_line() {
    let dir = TempDir::new();
    let path = dir.write(
        "alluxio-site.properties",
        "a=1\n# fine\nalluxio.master.hostname\n",
    );
    let error = Config::load_with(options(Process::Master, dir.path(), &[])).expect_err("bad");
    match &error {
        ConfigError::Parse { file, line, .. } => {
            assert_eq!(file, &path);
            assert_eq!(*line, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:3: ", path.display())),
        "{error}"
    );
}

#[test]
fn substitution_after_merging() {
    let dir = TempDir::new();
    dir.write(
        "alluxio-site.properties",
        "alluxio.work.dir=/data/alluxio\nmy.dir=${alluxio.logs.dir}/x\n",
    );
    let mut config = load(Process::Master, dir.path(), &[]);
    assert_eq!(
        config.get(MASTER_JOURNAL_FOLDER).expect("set"),
        "/data/alluxio/journal"
    );
    assert_eq!(config.source(MASTER_JOURNAL_FOLDER), Source::Default);
    assert_eq!(config.get("my.dir").expect("set"), "/data/alluxio/logs/x");
    config.set(WORK_DIR, "/other");
    assert_eq!(
        config.get(MASTER_MOUNT_TABLE_ROOT_UFS).expect("set"),
        "/other/underFSStorage"
    );
    assert_eq!(
        config
            .get_bytes_list(WORKER_TIERED_STORE_LEVEL0_DIRS_QUOTA)
            .expect("q"),
        [1 << 30]
    );
}

#[test]
fn substitution_cycle_and_missing_reference_fail_the_load() {
    let dir = TempDir::new();
    let mut opts = options(Process::Master, dir.path(), &[]);
    opts.overrides = vec![
        (
            MASTER_HOSTNAME.to_string(),
            "${alluxio.worker.hostname}".to_string(),
        ),
        (
            WORKER_HOSTNAME.to_string(),
            "x${alluxio.master.hostname}".to_string(),
        ),
    ];
    let error = Config::load_with(opts.clone()).expect_err("cycle");
    assert!(
        matches!(&error, ConfigError::Substitution { message, .. } if message.starts_with("cycle")),
        "{error}"
    );

    opts.overrides = vec![(MASTER_HOSTNAME.to_string(), "${no.such.key}".to_string())];
    let error = Config::load_with(opts).expect_err("missing");
    assert_eq!(
        error.to_string(),
        "cannot substitute references in alluxio.master.hostname: ${no.such.key} is not set"
    );
}

#[test]
fn work_dir_defaults() {
    let dir = TempDir::new();
    let config = load(Process::Worker, dir.path(), &[("HOME", "/home/someone")]);
    assert_eq!(
        config.get(WORK_DIR).expect("computed"),
        "/home/someone/.alluxio"
    );
    assert_eq!(
        config.get(LOGS_DIR).expect("default"),
        "/home/someone/.alluxio/logs"
    );
    let config = load(Process::Worker, dir.path(), &[("USER", "someone")]);
    assert!(config
        .get(WORK_DIR)
        .expect("computed")
        .starts_with("/tmp/alluxio-"));
}

#[test]
fn typed_defaults() {
    let config = Config::defaults();
    assert_eq!(config.get_port(MASTER_RPC_PORT).expect("port"), 19998);
    assert_eq!(config.get_port(WORKER_RPC_PORT).expect("port"), 29999);
    assert_eq!(config.get_port(WORKER_WEB_PORT).expect("port"), 30000);
    assert_eq!(
        config
            .get_bytes(USER_BLOCK_SIZE_BYTES_DEFAULT)
            .expect("size"),
        64 << 20
    );
    assert_eq!(
        config.get_duration(MASTER_WORKER_TIMEOUT).expect("d"),
        Duration::from_secs(300)
    );
    assert_eq!(
        config
            .get_duration(WORKER_BLOCK_HEARTBEAT_TIMEOUT)
            .expect("d"),
        Duration::from_secs(600)
    );
    assert_eq!(
        config
            .get_u64(MASTER_JOURNAL_CHECKPOINT_PERIOD_ENTRIES)
            .expect("n"),
        2_000_000
    );
    assert!(!config.get_bool(ZOOKEEPER_ENABLED).expect("bool"));
    assert_eq!(
        config.get_enum(USER_FILE_WRITE_TYPE_DEFAULT).expect("enum"),
        "CACHE_THROUGH"
    );
    assert_eq!(
        config
            .get_ratio(WORKER_TIERED_STORE_LEVEL0_HIGH_WATERMARK_RATIO)
            .expect("r"),
        0.95
    );
    assert!(matches!(
        config.get(MASTER_RPC_ADDRESSES),
        Err(ConfigError::Missing { .. })
    ));
    assert_eq!(config.get_opt(ZOOKEEPER_ADDRESS), None);
    assert_eq!(config.source(ZOOKEEPER_ADDRESS), Source::Unset);
    assert_eq!(config.validate().map_err(|e| e.to_string()), Ok(()));
}

#[test]
fn bad_values_name_key_value_and_form() {
    let mut config = Config::defaults();
    config.set(USER_BLOCK_SIZE_BYTES_DEFAULT, "abc");
    config.set(MASTER_RPC_PORT, "70000");
    config.set(USER_FILE_READ_TYPE_DEFAULT, "sometimes");
    config.set(MASTER_WORKER_TIMEOUT, "5 fortnights");
    config.set(USER_FILE_WRITE_TYPE_DEFAULT, "must_cache");
    let message = |result: Result<(), ConfigError>| result.expect_err("bad").to_string();
    assert_eq!(
        message(config.get_bytes(USER_BLOCK_SIZE_BYTES_DEFAULT).map(drop)),
        "invalid value \"abc\" for alluxio.user.block.size.bytes.default: \
         expected a size such as 64MB, 1GB or a number of bytes"
    );
    assert_eq!(
        message(config.get_port(MASTER_RPC_PORT).map(drop)),
        "invalid value \"70000\" for alluxio.master.rpc.port: expected a port number from 1 to 65535"
    );
    assert_eq!(
        message(config.get_enum(USER_FILE_READ_TYPE_DEFAULT).map(drop)),
        "invalid value \"sometimes\" for alluxio.user.file.readtype.default: \
         expected one of NO_CACHE, CACHE, CACHE_PROMOTE"
    );
    assert!(
        message(config.get_duration(MASTER_WORKER_TIMEOUT).map(drop))
            .contains("\"5 fortnights\" for alluxio.master.worker.timeout: expected a duration")
    );
    assert_eq!(
        config.get_enum(USER_FILE_WRITE_TYPE_DEFAULT).expect("enum"),
        "MUST_CACHE"
    );
}

#[test]
fn validate_catches_a_bad_value_in_a_file() {
    let dir = TempDir::new();
    dir.write(
        "alluxio-site.properties",
        "alluxio.master.hostname=m\nalluxio.worker.tieredstore.level0.watermark.high.ratio=1.5\n",
    );
    let config = load(Process::Worker, dir.path(), &[]);
    match config.validate() {
        Err(ConfigError::InvalidValue {
            key,
            value,
            expected,
        }) => {
            assert_eq!(key, WORKER_TIERED_STORE_LEVEL0_HIGH_WATERMARK_RATIO);
            assert_eq!(value, "1.5");
            assert_eq!(expected, units::RATIO_FORM);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unknown_and_foreign_keys_are_stored() {
    let dir = TempDir::new();
    let path = dir.write(
        "alluxio-site.properties",
        "alluxio.master.hostnmae=typo\nfs.s3a.access.key=AKIA\nalluxio.job.master.hostname=j\n",
    );
    let config = load(Process::Master, dir.path(), &[]);
    assert_eq!(config.get("alluxio.master.hostnmae").expect("kept"), "typo");
    assert_eq!(config.get("fs.s3a.access.key").expect("kept"), "AKIA");
    assert_eq!(
        config.source("fs.s3a.access.key"),
        Source::SiteProperties(path)
    );
    assert_eq!(config.validate().map_err(|e| e.to_string()), Ok(()));
}

#[test]
fn entries_are_sorted_with_sources() {
    let mut config = Config::defaults();
    config.set("zzz.custom", "1");
    let entries: Vec<_> = config.entries().collect();
    let names: Vec<&str> = entries.iter().map(|(key, _, _)| *key).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(entries.contains(&(MASTER_HOSTNAME, "localhost".to_string(), &Source::Default)));
    assert!(entries.contains(&("zzz.custom", "1".to_string(), &Source::CommandLine)));
    let journal = entries
        .iter()
        .find(|(key, _, _)| *key == MASTER_JOURNAL_FOLDER)
        .expect("listed");
    assert!(journal.1.ends_with("/journal") && !journal.1.contains("${"));
}

#[test]
fn env_file_without_site_file() {
    let dir = TempDir::new();
    let path = dir.write(
        "alluxio-env.sh",
        "export ALLUXIO_MASTER_HOSTNAME=${ALLUXIO_MASTER_HOSTNAME:-fallback}\n",
    );
    let config = load(Process::Master, dir.path(), &[]);
    assert_eq!(config.get(MASTER_HOSTNAME).expect("set"), "fallback");
    assert_eq!(
        config.source(MASTER_HOSTNAME),
        Source::EnvFile(path.clone())
    );
    assert_eq!(config.env_file(), Some(path.as_path()));
    let config = load(
        Process::Master,
        dir.path(),
        &[("ALLUXIO_MASTER_HOSTNAME", "real")],
    );
    assert_eq!(config.get(MASTER_HOSTNAME).expect("set"), "real");
    assert_eq!(
        config.source(MASTER_HOSTNAME),
        env_var("ALLUXIO_MASTER_HOSTNAME")
    );
}
