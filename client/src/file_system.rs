//! The file-system API.

use std::sync::Arc;

use alluxio_common::config::Config;
use alluxio_common::leader::MasterDiscovery;
use alluxio_common::ufs::UfsCache;
use alluxio_common::{AlluxioPath, FsError, FsResult};
use alluxio_proto::*;

use crate::in_stream::FileInStream;
use crate::master_client::MasterClient;
use crate::out_stream::FileOutStream;
use crate::settings::ClientSettings;
use crate::worker_pool::WorkerPool;

pub(crate) struct Inner {
    pub(crate) settings: ClientSettings,
    pub(crate) master: MasterClient,
    pub(crate) workers: WorkerPool,
    pub(crate) ufs: UfsCache,
}

/// A handle to the cluster; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct FileSystem {
    pub(crate) inner: Arc<Inner>,
}

/// Options of `create_directory`.
#[derive(Debug, Clone, Default)]
pub struct CreateDirectoryOptions {
    pub recursive: bool,
    pub allow_exists: bool,
    /// Permission bits (exactly, 0 included); `None` means the default
    /// (0755).
    pub mode: Option<u32>,
    /// Owner and group of the new directories (default: the client's user
    /// and group).
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Options of `create_file`.
#[derive(Debug, Clone, Default)]
pub struct CreateFileOptions {
    pub recursive: bool,
    /// Replace an existing file.
    pub overwrite: bool,
    /// With `overwrite`, write a new version of an existing regular file in
    /// place: it keeps its inode id, links, mode and owner.
    pub keep_inode: bool,
    /// Permission bits (exactly, 0 included); `None` means the default
    /// (0644).
    pub mode: Option<u32>,
    /// 0 means `alluxio.user.block.size.bytes.default`.
    pub block_size: u64,
    pub write_type: Option<WriteType>,
    /// Owner and group of a new file (default: the client's user and group).
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Options of `rename_with` (RENAME_NOREPLACE, RENAME_EXCHANGE).
#[derive(Debug, Clone, Copy, Default)]
pub struct RenameOptions {
    pub no_replace: bool,
    pub exchange: bool,
}

/// Options of `delete`.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub recursive: bool,
    pub alluxio_only: bool,
    /// The kind the path must have, checked by the master atomically with
    /// the delete: `Some(true)` fails a non-directory with `NotDirectory`
    /// (rmdir), `Some(false)` a directory with `IsDirectory` (unlink).
    pub directory: Option<bool>,
}

/// What `set_attribute` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAttributeOptions {
    /// Permission bits (the low 12).
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Modification and access times, in nanoseconds since the epoch.
    pub mtime_ns: Option<i64>,
    pub atime_ns: Option<i64>,
    /// Applies to everything under a directory too.
    pub recursive: bool,
}

impl SetAttributeOptions {
    /// Whether these options change nothing.
    pub fn is_empty(&self) -> bool {
        self.mode.is_none()
            && self.owner.is_none()
            && self.group.is_none()
            && self.mtime_ns.is_none()
            && self.atime_ns.is_none()
    }
}

/// The kind of metadata-only inode `create_node` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A symbolic link to `target`.
    Symlink {
        target: String,
    },
    Fifo,
    Socket,
    /// A device with number `rdev`.
    CharDevice {
        rdev: u64,
    },
    BlockDevice {
        rdev: u64,
    },
}

/// Options of `create_node`.
#[derive(Debug, Clone, Default)]
pub struct CreateNodeOptions {
    /// Permission bits (exactly, 0 included); `None` means the master's
    /// default.
    pub mode: Option<u32>,
    /// Owner and group of the new inode (default: the client's user and
    /// group).
    pub owner: Option<String>,
    pub group: Option<String>,
}

fn op_id() -> Option<OperationId> {
    Some(OperationId {
        high: rand::random(),
        low: rand::random(),
    })
}

fn check(path: &str) -> FsResult<String> {
    Ok(AlluxioPath::parse(path)?.to_string())
}

impl FileSystem {
    /// A client configured from `conf`.
    pub fn from_config(conf: &Config) -> FsResult<FileSystem> {
        let settings = ClientSettings::from_config(conf)
            .map_err(|e| FsError::InvalidArgument(e.to_string()))?;
        Ok(FileSystem::new(settings))
    }

    /// A client with explicit options. With ZooKeeper, the session to it
    /// starts on the current tokio runtime (or at the first call).
    pub fn new(settings: ClientSettings) -> FileSystem {
        let discovery = MasterDiscovery::new(settings.masters.clone());
        FileSystem::with_discovery(settings, discovery)
    }

    /// A client that finds masters through `discovery` (which may be shared
    /// with other clients); `settings.masters` is not used.
    pub fn with_discovery(settings: ClientSettings, discovery: MasterDiscovery) -> FileSystem {
        let master = MasterClient::new(discovery, settings.retry);
        FileSystem {
            inner: Arc::new(Inner {
                settings,
                master,
                workers: WorkerPool::default(),
                ufs: UfsCache::default(),
            }),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &ClientSettings {
        &self.inner.settings
    }

    /// The leading master in use (`host:port`): the one the last call went
    /// to, else the one the next call will try (with ZooKeeper the cached
    /// leader, or "" while ZooKeeper has named none).
    pub fn master_address(&self) -> String {
        self.inner.master.current_address()
    }

    /// How masters are found: `describe()` for messages, `leader()`,
    /// `masters()`, `names_leader()`.
    pub fn discovery(&self) -> &MasterDiscovery {
        self.inner.master.discovery()
    }

    /// Asks every master (`discovery().masters()`: the configured list, or
    /// the masters registered in ZooKeeper) for its role and journal
    /// position, directly, concurrently, once each with a short timeout.
    /// Results are in the order of the masters; empty if none is known
    /// (ZooKeeper unreachable and no leader cached).
    pub async fn master_infos(&self) -> Vec<(String, FsResult<GetMasterInfoResponse>)> {
        let masters = self.discovery().masters().await;
        futures::future::join_all(masters.into_iter().map(|addr| async move {
            let info = crate::master_client::master_info(&addr).await;
            (addr, info)
        }))
        .await
    }

    /// Describes `path`.
    pub async fn get_status(&self, path: &str) -> FsResult<FileInfo> {
        let path = check(path)?;
        self.inner
            .master
            .call(|mut c| {
                let req = GetStatusRequest { path: path.clone() };
                async move { c.get_status(req).await }
            })
            .await
    }

    /// Lists directory `path` (a file lists as itself).
    pub async fn list_status(&self, path: &str, recursive: bool) -> FsResult<Vec<FileInfo>> {
        self.list_status_with(path, recursive, false).await
    }

    /// [`list_status`](Self::list_status); with `sync_ufs`, the master also
    /// merges names added to the directory's UFS since it first loaded it.
    pub async fn list_status_with(
        &self,
        path: &str,
        recursive: bool,
        sync_ufs: bool,
    ) -> FsResult<Vec<FileInfo>> {
        let path = check(path)?;
        let resp = self
            .inner
            .master
            .call(|mut c| {
                let req = ListStatusRequest {
                    path: path.clone(),
                    recursive,
                    sync_ufs,
                };
                async move { c.list_status(req).await }
            })
            .await?;
        Ok(resp.infos)
    }

    /// Whether `path` exists.
    pub async fn exists(&self, path: &str) -> FsResult<bool> {
        match self.get_status(path).await {
            Ok(_) => Ok(true),
            Err(FsError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates a directory.
    pub async fn create_directory(
        &self,
        path: &str,
        opts: CreateDirectoryOptions,
    ) -> FsResult<FileInfo> {
        let path = check(path)?;
        let op_id = op_id();
        let o = &self.inner.settings;
        self.inner
            .master
            .call(|mut c| {
                let req = CreateDirectoryRequest {
                    path: path.clone(),
                    recursive: opts.recursive,
                    allow_exists: opts.allow_exists,
                    mode: opts.mode.unwrap_or(0),
                    mode_given: opts.mode.is_some(),
                    owner: opts.owner.clone().unwrap_or_else(|| o.user.clone()),
                    group: opts.group.clone().unwrap_or_else(|| o.group.clone()),
                    write_type: o.write_type as i32,
                    op_id,
                };
                async move { c.create_directory(req).await }
            })
            .await
    }

    /// Creates a file and returns a stream to write it; `close` completes it.
    pub async fn create_file(
        &self,
        path: &str,
        opts: CreateFileOptions,
    ) -> FsResult<FileOutStream> {
        let write_type = opts.write_type.unwrap_or(self.inner.settings.write_type);
        let info = self.create_request(path, &opts, false).await?;
        FileOutStream::open(self.clone(), info, write_type).await
    }

    /// Creates a complete, empty file in one master call (what `creat(2)`
    /// needs: no writer, no completion). Fails if the path exists.
    pub async fn create_empty_file(
        &self,
        path: &str,
        opts: CreateFileOptions,
    ) -> FsResult<FileInfo> {
        if opts.overwrite {
            return Err(FsError::InvalidArgument(
                "an empty file cannot overwrite an existing one".into(),
            ));
        }
        self.create_request(path, &opts, true).await
    }

    async fn create_request(
        &self,
        path: &str,
        opts: &CreateFileOptions,
        empty: bool,
    ) -> FsResult<FileInfo> {
        let path = check(path)?;
        let op_id = op_id();
        let o = &self.inner.settings;
        let write_type = opts.write_type.unwrap_or(o.write_type);
        self.inner
            .master
            .call(|mut c| {
                let req = CreateFileRequest {
                    path: path.clone(),
                    block_size: if opts.block_size == 0 {
                        o.block_size
                    } else {
                        opts.block_size
                    },
                    recursive: opts.recursive,
                    mode: opts.mode.unwrap_or(0),
                    mode_given: opts.mode.is_some(),
                    owner: opts.owner.clone().unwrap_or_else(|| o.user.clone()),
                    group: opts.group.clone().unwrap_or_else(|| o.group.clone()),
                    write_type: write_type as i32,
                    overwrite: opts.overwrite,
                    keep_inode: opts.keep_inode,
                    empty,
                    op_id,
                };
                async move { c.create_file(req).await }
            })
            .await
    }

    /// Marks a written file complete, setting `attrs` with it (in one
    /// journal entry: decision 0014; `recursive` is ignored).
    pub(crate) async fn complete_file(
        &self,
        path: &str,
        file_id: u64,
        container_id: u64,
        length: u64,
        attrs: &SetAttributeOptions,
    ) -> FsResult<FileInfo> {
        let path = path.to_string();
        let op_id = op_id();
        self.inner
            .master
            .call(|mut c| {
                let req = CompleteFileRequest {
                    path: path.clone(),
                    file_id,
                    length,
                    op_id,
                    container_id,
                    mode: attrs.mode,
                    owner: attrs.owner.clone(),
                    group: attrs.group.clone(),
                    mtime_ns: attrs.mtime_ns,
                    atime_ns: attrs.atime_ns,
                };
                async move { c.complete_file(req).await }
            })
            .await
    }

    /// Creates symlink `path` pointing at `target`. Symlinks live only in
    /// Alluxio's namespace (the UFS has no copy).
    pub async fn create_symlink(&self, path: &str, target: &str) -> FsResult<FileInfo> {
        let kind = NodeKind::Symlink {
            target: target.to_string(),
        };
        self.create_node(path, kind, CreateNodeOptions::default())
            .await
    }

    /// Creates a metadata-only inode (symlink, FIFO, socket or device) at
    /// `path`.
    pub async fn create_node(
        &self,
        path: &str,
        kind: NodeKind,
        opts: CreateNodeOptions,
    ) -> FsResult<FileInfo> {
        let (file_type, rdev, symlink_target) = match kind {
            NodeKind::Symlink { target } => (FileType::Symlink, 0, target),
            NodeKind::Fifo => (FileType::Fifo, 0, String::new()),
            NodeKind::Socket => (FileType::Socket, 0, String::new()),
            NodeKind::CharDevice { rdev } => (FileType::CharDevice, rdev, String::new()),
            NodeKind::BlockDevice { rdev } => (FileType::BlockDevice, rdev, String::new()),
        };
        let o = &self.inner.settings;
        let req = CreateNodeRequest {
            path: check(path)?,
            file_type: file_type as i32,
            mode: opts.mode.unwrap_or(0),
            mode_given: opts.mode.is_some(),
            rdev,
            symlink_target,
            owner: opts.owner.unwrap_or_else(|| o.user.clone()),
            group: opts.group.unwrap_or_else(|| o.group.clone()),
            op_id: op_id(),
        };
        self.inner
            .master
            .call(|mut c| {
                let req = req.clone();
                async move { c.create_node(req).await }
            })
            .await
    }

    /// Adds hard link `dst` to the existing non-directory `src`; returns
    /// the (shared) inode as seen at `dst`.
    pub async fn link(&self, src: &str, dst: &str) -> FsResult<FileInfo> {
        let (src, dst) = (check(src)?, check(dst)?);
        let op_id = op_id();
        self.inner
            .master
            .call(|mut c| {
                let req = LinkRequest {
                    src: src.clone(),
                    dst: dst.clone(),
                    op_id,
                };
                async move { c.link(req).await }
            })
            .await
    }

    /// Opens a file for reading.
    pub async fn open_file(&self, path: &str) -> FsResult<FileInStream> {
        let info = self.get_status(path).await?;
        if info.file_type == FileType::Directory as i32 {
            return Err(FsError::IsDirectory(info.path));
        }
        if !info.completed {
            return Err(FsError::FailedPrecondition(format!(
                "{} is still being written",
                info.path
            )));
        }
        Ok(FileInStream::new(self.clone(), info))
    }

    /// Deletes `path`.
    pub async fn delete(&self, path: &str, opts: DeleteOptions) -> FsResult<()> {
        self.delete_reply(path, opts).await.map(|_| ())
    }

    /// Deletes `path` and returns the master's reply, which describes the
    /// parent directory after the delete.
    pub async fn delete_reply(&self, path: &str, opts: DeleteOptions) -> FsResult<DeleteResponse> {
        let path = check(path)?;
        let op_id = op_id();
        self.inner
            .master
            .call(|mut c| {
                let req = DeleteRequest {
                    path: path.clone(),
                    recursive: opts.recursive,
                    alluxio_only: opts.alluxio_only,
                    op_id,
                    directory: opts.directory,
                };
                async move { c.delete(req).await }
            })
            .await
    }

    /// Renames `src` to `dst`, replacing an existing file at `dst`.
    pub async fn rename(&self, src: &str, dst: &str) -> FsResult<()> {
        self.rename_with(src, dst, RenameOptions::default()).await
    }

    /// Renames `src` to `dst` as `opts` say: `no_replace` fails with
    /// AlreadyExists if `dst` exists, `exchange` swaps two existing entries
    /// (both checked atomically by the master).
    pub async fn rename_with(&self, src: &str, dst: &str, opts: RenameOptions) -> FsResult<()> {
        self.rename_reply(src, dst, opts).await.map(|_| ())
    }

    /// `rename_with`, returning the master's reply, which describes the
    /// parent directories of `src` and `dst` after the rename.
    pub async fn rename_reply(
        &self,
        src: &str,
        dst: &str,
        opts: RenameOptions,
    ) -> FsResult<RenameResponse> {
        let (src, dst) = (check(src)?, check(dst)?);
        let op_id = op_id();
        self.inner
            .master
            .call(|mut c| {
                let req = RenameRequest {
                    src: src.clone(),
                    dst: dst.clone(),
                    op_id,
                    no_replace: opts.no_replace,
                    exchange: opts.exchange,
                };
                async move { c.rename(req).await }
            })
            .await
    }

    /// Changes mode, owner, group or times of `path`.
    pub async fn set_attribute(&self, path: &str, opts: SetAttributeOptions) -> FsResult<FileInfo> {
        let req = SetAttributeRequest {
            path: check(path)?,
            mode: opts.mode,
            owner: opts.owner,
            group: opts.group,
            mtime_ns: opts.mtime_ns,
            atime_ns: opts.atime_ns,
            recursive: opts.recursive,
            op_id: op_id(),
        };
        self.inner
            .master
            .call(|mut c| {
                let req = req.clone();
                async move { c.set_attribute(req).await }
            })
            .await
    }

    /// Drops cached copies of persisted data under `path`.
    pub async fn free(&self, path: &str, recursive: bool) -> FsResult<u64> {
        let path = check(path)?;
        let resp = self
            .inner
            .master
            .call(|mut c| {
                let req = FreeRequest {
                    path: path.clone(),
                    recursive,
                };
                async move { c.free(req).await }
            })
            .await?;
        Ok(resp.freed_blocks)
    }

    /// Mounts a UFS at `alluxio_path`.
    pub async fn mount(
        &self,
        alluxio_path: &str,
        ufs_uri: &str,
        options: std::collections::HashMap<String, String>,
    ) -> FsResult<()> {
        let path = check(alluxio_path)?;
        let op_id = op_id();
        self.inner
            .master
            .call(|mut c| {
                let req = MountRequest {
                    alluxio_path: path.clone(),
                    ufs_uri: ufs_uri.to_string(),
                    options: options.clone(),
                    op_id,
                };
                async move { c.mount(req).await }
            })
            .await
            .map(|_| ())
    }

    /// Unmounts `alluxio_path`.
    pub async fn unmount(&self, alluxio_path: &str) -> FsResult<()> {
        let path = check(alluxio_path)?;
        let op_id = op_id();
        self.inner
            .master
            .call(|mut c| {
                let req = UnmountRequest {
                    alluxio_path: path.clone(),
                    op_id,
                };
                async move { c.unmount(req).await }
            })
            .await
            .map(|_| ())
    }

    /// The mount table.
    pub async fn mount_table(&self) -> FsResult<Vec<MountPointInfo>> {
        let resp = self
            .inner
            .master
            .call(|mut c| async move { c.get_mount_table(GetMountTableRequest {}).await })
            .await?;
        Ok(resp.mounts)
    }

    /// Cluster facts: leader, workers, journal position.
    pub async fn cluster_info(&self) -> FsResult<GetClusterInfoResponse> {
        self.inner
            .master
            .call(|mut c| async move { c.get_cluster_info(GetClusterInfoRequest {}).await })
            .await
    }

    /// Live workers (cached for a few seconds).
    pub(crate) async fn live_workers(&self) -> FsResult<Vec<WorkerNetAddress>> {
        if let Some(w) = self.inner.workers.cached_live() {
            return Ok(w);
        }
        let info = self.cluster_info().await?;
        let live: Vec<WorkerNetAddress> = info
            .workers
            .into_iter()
            .filter(|w| w.live)
            .filter_map(|w| w.address)
            .collect();
        self.inner.workers.set_live(live.clone());
        Ok(live)
    }
}
