//! `alluxio fs ...`: the file-system commands, with Alluxio's names, flags
//! and output formats. Each file holds a few related commands; this one only
//! lists them and dispatches.

mod attr;
mod copy;
mod free;
mod load;
mod ls;
mod master_info;
mod mount;
mod namespace;
mod read;
mod stat;
mod usage;

use alluxio_client::FileSystem;
use alluxio_common::config::Config;
use clap::Subcommand;

/// The `alluxio fs` subcommands.
#[derive(Subcommand, Debug)]
pub enum FsCommand {
    /// Lists a directory (or describes a file): permissions, owner, group,
    /// size, persistence, modification time (UTC), cached percentage, path.
    Ls(ls::LsArgs),
    /// Creates directories, with their missing parents.
    Mkdir(namespace::MkdirArgs),
    /// Creates an empty file.
    Touch(namespace::TouchArgs),
    /// Writes a file to standard output.
    Cat(read::CatArgs),
    /// Prints the first bytes of a file (1KB unless -c).
    Head(read::HeadArgs),
    /// Prints the last bytes of a file (1KB unless -c).
    Tail(read::TailArgs),
    /// Copies a local file or directory into Alluxio.
    #[command(name = "copyFromLocal")]
    CopyFromLocal(copy::CopyFromLocalArgs),
    /// Copies an Alluxio file or directory to the local file system.
    #[command(name = "copyToLocal")]
    CopyToLocal(copy::CopyToLocalArgs),
    /// Copies within Alluxio, or from/to the local file system with file://.
    Cp(copy::CpArgs),
    /// Moves (renames) a file or directory.
    Mv(namespace::MvArgs),
    /// Removes files and directories.
    Rm(namespace::RmArgs),
    /// Prints everything the master knows about a path, including blocks.
    Stat(stat::StatArgs),
    /// Shows the size of files and how much of it is cached in Alluxio.
    Du(usage::DuArgs),
    /// Counts files and folders under a path and sums their sizes.
    Count(usage::CountArgs),
    /// Changes the permission bits of a path.
    Chmod(attr::ChmodArgs),
    /// Changes the owner (and group) of a path.
    Chown(attr::ChownArgs),
    /// Changes the group of a path.
    Chgrp(attr::ChgrpArgs),
    /// Mounts an under file system; without arguments prints the mount table.
    Mount(mount::MountArgs),
    /// Unmounts an under file system.
    Unmount(mount::UnmountArgs),
    /// Drops the cached copies of persisted files (recursively for folders).
    Free(free::FreeArgs),
    /// Reads files through the workers so their blocks are cached.
    Load(load::LoadArgs),
    /// Prints the master in use and the configured masters.
    #[command(name = "masterInfo")]
    MasterInfo,
    /// Prints the address of the leading master.
    Leader,
}

impl FsCommand {
    /// The command's name as typed, used as the prefix of its errors.
    pub fn name(&self) -> &'static str {
        match self {
            FsCommand::Ls(_) => "ls",
            FsCommand::Mkdir(_) => "mkdir",
            FsCommand::Touch(_) => "touch",
            FsCommand::Cat(_) => "cat",
            FsCommand::Head(_) => "head",
            FsCommand::Tail(_) => "tail",
            FsCommand::CopyFromLocal(_) => "copyFromLocal",
            FsCommand::CopyToLocal(_) => "copyToLocal",
            FsCommand::Cp(_) => "cp",
            FsCommand::Mv(_) => "mv",
            FsCommand::Rm(_) => "rm",
            FsCommand::Stat(_) => "stat",
            FsCommand::Du(_) => "du",
            FsCommand::Count(_) => "count",
            FsCommand::Chmod(_) => "chmod",
            FsCommand::Chown(_) => "chown",
            FsCommand::Chgrp(_) => "chgrp",
            FsCommand::Mount(_) => "mount",
            FsCommand::Unmount(_) => "unmount",
            FsCommand::Free(_) => "free",
            FsCommand::Load(_) => "load",
            FsCommand::MasterInfo => "masterInfo",
            FsCommand::Leader => "leader",
        }
    }
}

/// Runs one `alluxio fs` command against the configured cluster.
pub async fn run(conf: &Config, command: FsCommand) -> anyhow::Result<()> {
    let fs = FileSystem::from_config(conf)?;
    match command {
        FsCommand::Ls(a) => ls::run(&fs, a).await,
        FsCommand::Mkdir(a) => namespace::mkdir(&fs, a).await,
        FsCommand::Touch(a) => namespace::touch(&fs, a).await,
        FsCommand::Cat(a) => read::cat(&fs, a).await,
        FsCommand::Head(a) => read::head(&fs, a).await,
        FsCommand::Tail(a) => read::tail(&fs, a).await,
        FsCommand::CopyFromLocal(a) => copy::copy_from_local_cmd(&fs, a).await,
        FsCommand::CopyToLocal(a) => copy::copy_to_local_cmd(&fs, a).await,
        FsCommand::Cp(a) => copy::cp(&fs, a).await,
        FsCommand::Mv(a) => namespace::mv(&fs, a).await,
        FsCommand::Rm(a) => namespace::rm(&fs, a).await,
        FsCommand::Stat(a) => stat::run(&fs, a).await,
        FsCommand::Du(a) => usage::du(&fs, a).await,
        FsCommand::Count(a) => usage::count(&fs, a).await,
        FsCommand::Chmod(a) => attr::chmod(&fs, a).await,
        FsCommand::Chown(a) => attr::chown(&fs, a).await,
        FsCommand::Chgrp(a) => attr::chgrp(&fs, a).await,
        FsCommand::Mount(a) => mount::mount(&fs, a).await,
        FsCommand::Unmount(a) => mount::unmount(&fs, a).await,
        FsCommand::Free(a) => free::run(&fs, a).await,
        FsCommand::Load(a) => load::run(&fs, a).await,
        FsCommand::MasterInfo => master_info::master_info(&fs, conf).await,
        FsCommand::Leader => master_info::leader(&fs).await,
    }
}
