//! The daemon itself (`mount --foreground`): load the configuration, make
//! sure the cluster answers, mount, serve until unmounted or signalled.

use std::path::Path;
use std::time::Duration;

use alluxio_client::{FileSystem, FileType};
use alluxio_common::config::{keys, Config, Process};
use alluxio_common::logging::{self, LogSettings};
use alluxio_common::startup;
use anyhow::{bail, Context, Result};
use fuser::{MountOption, SessionACL};

use crate::daemon::{check_dev_fuse, check_mount_point};
use crate::fs::{AlluxioFs, StagingDir};
use crate::kernel_mount;
use crate::mounts::SOURCE_PREFIX;
use crate::options::MountOptions;

/// How long the start-up check waits for the cluster before giving up.
const CLUSTER_CHECK: Duration = Duration::from_secs(5);

pub fn run(options: &[String], mount_point: &Path, alluxio_path: &str) -> Result<()> {
    // A panic in any handler ends the daemon (and with it the mount) rather
    // than leaving requests unanswered.
    startup::abort_on_panic();
    let conf =
        startup::load_config(Process::Fuse, Vec::new()).context("loading the configuration")?;
    let mut log = LogSettings::from_config(&conf)?;
    if let Some(file) = std::env::var_os(crate::daemon::LOG_FILE_ENV) {
        // Started by `mount` in the background: log to the per-mount file
        // it named (rotated), whatever stderr is.
        log.file = Some(file.into());
        log.target = "FILE".into();
    }
    logging::init_process("fuse", &log)?;
    let opts = MountOptions::parse(options)?;
    let canon = check_mount_point(mount_point)?;
    check_dev_fuse()?;
    let rt = startup::runtime("alluxio-fuse", Some(opts.threads.max(2)))
        .context("starting the runtime")?;
    let (fs, root) = rt.block_on(connect(&conf, alluxio_path))?;
    if conf.get_bool(keys::FUSE_WEB_ENABLED)? {
        let port = conf.get_port(keys::FUSE_WEB_PORT)?;
        let listener = rt.block_on(alluxio_common::web::bind(keys::FUSE_WEB_PORT, port))?;
        crate::metrics::init();
        let pages = crate::metrics::pages(
            canon.display().to_string(),
            alluxio_path.to_string(),
            fs.discovery().describe().to_string(),
        );
        let _guard = rt.enter();
        alluxio_common::web::spawn(listener, pages);
        tracing::info!("serving /metrics on web port {port}");
    }
    let staging =
        StagingDir::new(opts.staging_dir.as_deref()).context("creating the staging dir")?;
    tracing::info!(
        "mounting {alluxio_path} (inode {}) at {}, staging in {}",
        root.id,
        canon.display(),
        staging.path().display()
    );
    let fsname = format!("{SOURCE_PREFIX}{}", root.path);
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        MountOption::FSName(fsname.clone()),
        MountOption::Subtype("alluxio".into()),
    ];
    if opts.default_permissions {
        config.mount_options.push(MountOption::DefaultPermissions);
    }
    config.mount_options.extend(opts.kernel.iter().cloned());
    config.acl = if opts.allow_other {
        SessionACL::All
    } else if opts.allow_root {
        SessionACL::RootAndOwner
    } else {
        SessionACL::Owner
    };
    config.n_threads = Some(opts.threads);
    config.clone_fd = true;
    let filesystem = AlluxioFs::new(fs, &root, &opts, staging, rt.handle().clone());
    let kernel = filesystem.kernel_notifier();
    // As root we mount with the type `fuse.alluxio` ourselves; otherwise
    // fuser goes through fusermount3, which sets the subtype.
    // SAFETY: geteuid cannot fail.
    let (session, mut unmounter) = if unsafe { libc::geteuid() } == 0 {
        let (fd, mount) = kernel_mount::mount(&canon, &fsname, &config.mount_options, config.acl)
            .with_context(|| format!("mounting at {}", canon.display()))?;
        let session = fuser::Session::from_fd(filesystem, fd, config.acl, config)
            .with_context(|| format!("starting the FUSE session at {}", canon.display()))?;
        (session, Unmounter::Kernel(mount))
    } else {
        let mut session = fuser::Session::new(filesystem, &canon, &config)
            .with_context(|| format!("mounting at {}", canon.display()))?;
        let unmounter = Unmounter::Fuser(session.unmount_callable());
        (session, unmounter)
    };
    let _ = kernel.set(session.notifier());
    // Touches only sysfs and the mount table, not the mount, so it cannot
    // wait on the session that is not serving yet.
    match crate::read_ahead::set(&canon, opts.max_readahead) {
        Ok(()) => tracing::debug!("read-ahead window: {} bytes", opts.max_readahead),
        Err(e) => tracing::info!("keeping the kernel's read-ahead window: {e}"),
    }
    let shown = canon.clone();
    let signals = rt.spawn(async move {
        let signal = startup::shutdown_signal().await;
        tracing::info!("received {signal}: unmounting {}", shown.display());
        if let Err(e) = unmounter.unmount() {
            tracing::error!("unmounting {}: {e}", shown.display());
        }
        unmounter
    });
    tracing::info!("mounted at {}", canon.display());
    let served = session.run().context("serving FUSE requests");
    // A mount we made ourselves is detached if the session ended without
    // an unmount (an error), so no dead mount point stays behind.
    signals.abort();
    drop(rt.block_on(signals));
    served?;
    tracing::info!("unmounted {}", canon.display());
    // Let in-flight handlers finish their replies (the kernel has gone).
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

/// A client for the cluster, checked to answer, and the mounted directory.
async fn connect(
    conf: &Config,
    alluxio_path: &str,
) -> Result<(FileSystem, alluxio_client::FileInfo)> {
    let fs = FileSystem::from_config(conf).context("configuring the client")?;
    let mut quick = conf.clone();
    quick.set(
        keys::USER_RPC_RETRY_MAX_DURATION,
        &format!("{}ms", CLUSTER_CHECK.as_millis()),
    );
    let check = FileSystem::from_config(&quick).context("configuring the client")?;
    let info = check.cluster_info().await.with_context(|| {
        format!(
            "the cluster is unreachable ({}) within {CLUSTER_CHECK:?}",
            check.discovery().describe()
        )
    })?;
    tracing::info!(
        "cluster {} led by {}, {} live worker(s)",
        info.cluster_id,
        info.leader_address,
        info.workers.iter().filter(|w| w.live).count()
    );
    let root = check
        .get_status(alluxio_path)
        .await
        .with_context(|| format!("cannot mount {alluxio_path}"))?;
    if root.file_type != FileType::Directory as i32 {
        bail!("cannot mount {alluxio_path}: not a directory");
    }
    Ok((fs, root))
}

/// Who unmounts on a signal: our own mount, or fuser's.
enum Unmounter {
    Kernel(kernel_mount::KernelMount),
    Fuser(fuser::SessionUnmounter),
}

impl Unmounter {
    fn unmount(&mut self) -> std::io::Result<()> {
        match self {
            Unmounter::Kernel(m) => m.unmount(),
            Unmounter::Fuser(u) => u.unmount(),
        }
    }
}
