//! `alluxio-fuse`: mounts the Alluxio namespace for POSIX tools.
//!
//! `mount` checks what can be checked up front, then starts itself again
//! with `--foreground` as a detached daemon and returns once the kernel
//! shows the mount (or with the daemon's error). `unmount` and `stat` work
//! on the kernel's mount table.

mod daemon;
mod errno;
mod fs;
mod kernel_mount;
mod metrics;
mod mounts;
mod options;
mod read_ahead;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "alluxio-fuse",
    version = alluxio_common::version::VERSION,
    about = "Mount the Alluxio file system with FUSE"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mounts <alluxio path> (default `/`) at <mount point>.
    Mount {
        /// Mount options, comma separated: attr_timeout=SECS,
        /// entry_timeout=SECS, max_threads=N, max_write=BYTES,
        /// max_readahead=BYTES (default 1 MiB; set as root), staging_dir=DIR,
        /// direct_io (read-only opens bypass the page cache), allow_other,
        /// allow_root, no_default_permissions, ro, and the usual kernel flags.
        #[arg(short = 'o', value_name = "OPTIONS")]
        options: Vec<String>,
        /// Stay attached: serve in this process, log to stderr.
        #[arg(short = 'f', long)]
        foreground: bool,
        mount_point: PathBuf,
        #[arg(default_value = "/")]
        alluxio_path: String,
    },
    /// Unmounts <mount point>.
    Unmount {
        /// Detach even if busy (lazy unmount).
        #[arg(short = 'f', long)]
        force: bool,
        mount_point: PathBuf,
    },
    /// Lists the alluxio-fuse mounts of this machine.
    Stat,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mount {
            options,
            foreground,
            mount_point,
            alluxio_path,
        } => {
            if foreground {
                serve::run(&options, &mount_point, &alluxio_path)
            } else {
                daemon::mount(&options, &mount_point, &alluxio_path)
            }
        }
        Command::Unmount { force, mount_point } => daemon::unmount(&mount_point, force),
        Command::Stat => daemon::stat(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if alluxio_common::logging::logs_to_file() {
                tracing::error!("{e:#}");
            }
            eprintln!("alluxio-fuse: {e:#}");
            ExitCode::FAILURE
        }
    }
}
