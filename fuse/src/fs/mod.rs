//! The FUSE file system: the `fuser::Filesystem` implementation.
//!
//! This file only receives requests and hands each one to a tokio task, so
//! a slow RPC never blocks the kernel's other requests; the work is in the
//! sibling modules, one per concern: `dir` (names: lookup, listing, mkdir,
//! rmdir, unlink, rename), `file` (open, create, read, write, flush, fsync,
//! release), `setattr` (getattr, setattr, truncate), `allocate`
//! (fallocate), `statfs`; attributes
//! the daemon already has are kept in `attr_cache`.

mod allocate;
mod attr;
mod attr_cache;
mod commit_retry;
mod dir;
mod file;
mod handles;
mod ids;
mod inodes;
mod nodes;
mod page_cache;
mod setattr;
mod stage_file;
mod staging;
mod statfs;
mod write_behind;

use std::ffi::OsStr;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use alluxio_client::{FileInfo, FileSystem, FsResult};
use fuser::{
    AccessFlags, BsdFileFlags, Errno, FileHandle, Filesystem, INodeNo, InitFlags, KernelConfig,
    LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request,
    TimeOrNow, WriteFlags,
};

use crate::errno::errno;
use crate::options::MountOptions;

pub use staging::StagingDir;

/// State shared by every request handler.
pub struct Inner {
    pub fs: FileSystem,
    inodes: inodes::Inodes,
    handles: handles::Handles,
    page_cache: page_cache::PageCache,
    attrs: attr_cache::AttrCache,
    ids: ids::Ids,
    staging: StagingDir,
    attr_ttl: Duration,
    entry_ttl: Duration,
    max_write: u32,
    /// `-o direct_io`: read-only opens bypass the page cache.
    direct_io: bool,
    /// Tells the kernel to drop what it caches of an inode; set once the
    /// session exists.
    kernel: KernelNotifier,
    /// This state itself, for background work that must not outlive it
    /// (`commit_retry`).
    me: std::sync::Weak<Inner>,
}

/// Where the session's `fuser::Notifier` goes once the session exists.
pub type KernelNotifier = Arc<std::sync::OnceLock<fuser::Notifier>>;

/// Who asked: new inodes are owned by the calling process's user and
/// group (a setgid parent directory's group wins, in the master).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
}

impl Caller {
    fn of(req: &Request) -> Caller {
        Caller {
            uid: req.uid(),
            gid: req.gid(),
        }
    }
}

impl Inner {
    /// Owner and group names for inodes `caller` creates.
    fn names(&self, caller: Caller) -> (String, String) {
        (self.ids.user_of(caller.uid), self.ids.group_of(caller.gid))
    }
}

/// The mounted file system.
pub struct AlluxioFs {
    inner: Arc<Inner>,
    rt: tokio::runtime::Handle,
}

/// Checks a name from the kernel: UTF-8 (Alluxio paths are strings) and at
/// most 255 bytes.
fn name_str(name: &OsStr) -> Result<&str, Errno> {
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    name.to_str().ok_or(Errno::EINVAL)
}

impl AlluxioFs {
    /// A file system serving `root` (an Alluxio directory, described by
    /// `root_info`) through `fs`, running its handlers on `rt`.
    pub fn new(
        fs: FileSystem,
        root_info: &FileInfo,
        opts: &MountOptions,
        staging: StagingDir,
        rt: tokio::runtime::Handle,
    ) -> AlluxioFs {
        AlluxioFs {
            inner: Arc::new_cyclic(|me| Inner {
                fs,
                inodes: inodes::Inodes::new(&root_info.path, root_info.id),
                handles: handles::Handles::default(),
                page_cache: page_cache::PageCache::default(),
                attrs: attr_cache::AttrCache::new(opts.attr_timeout),
                ids: ids::Ids::default(),
                staging,
                attr_ttl: opts.attr_timeout,
                entry_ttl: opts.entry_timeout,
                max_write: opts.max_write,
                direct_io: opts.direct_io,
                kernel: KernelNotifier::default(),
                me: me.clone(),
            }),
            rt,
        }
    }

    /// The slot for the session's notifier (see `Inner::kernel`).
    pub fn kernel_notifier(&self) -> KernelNotifier {
        self.inner.kernel.clone()
    }

    /// Runs the handler of one request of operation `op` (counted in the
    /// metrics). It is polled once right here, on the thread that read the
    /// request: most lookups, getattrs, flushes and releases are answered
    /// from the daemon's own state and finish in that poll, with no hand-off
    /// to another thread. A handler that has to wait (an RPC, a lock) is
    /// handed to the runtime, which polls it again with its own waker.
    fn spawn<F, Fut>(&self, op: &'static str, f: F)
    where
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        crate::metrics::operation(op);
        let _runtime = self.rt.enter();
        let mut handler = Box::pin(f(self.inner.clone()));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if handler.as_mut().poll(&mut cx).is_pending() {
            self.rt.spawn(handler);
        }
    }
}

impl Inner {
    /// The path of `ino`, or ENOENT if the kernel asks about an inode we
    /// no longer know (forgotten or unlinked).
    fn path(&self, ino: INodeNo) -> Result<String, Errno> {
        self.inodes.path(ino).ok_or(Errno::ENOENT)
    }

    /// The path of `name` in `parent`.
    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<String, Errno> {
        let name = name_str(name)?;
        self.inodes.child(parent, name).ok_or(Errno::ENOENT)
    }

    /// The attributes of `info` as the kernel should see them (for a file
    /// being written: the staged size, modification time and the
    /// attributes set while it was dirty).
    async fn attr_of(&self, info: &FileInfo) -> fuser::FileAttr {
        let ino = self.inodes.ino_of(info.id);
        let mut a = attr::attr(&self.ids, ino, info);
        if let Some(stage) = self.handles.stage_of(ino) {
            let s = stage.lock().await;
            if let Ok(len) = s.len() {
                a.size = len;
                a.blocks = len.div_ceil(512);
            }
            if let Some(ns) = s.modified_ns {
                a.mtime = attr::time(ns);
                a.ctime = a.ctime.max(a.mtime);
            }
            let d = &s.deferred;
            if let Some(m) = d.mode {
                a.perm = m as u16;
            }
            if let Some(o) = &d.owner {
                a.uid = self.ids.uid(o);
            }
            if let Some(g) = &d.group {
                a.gid = self.ids.gid(g);
            }
            if let Some(ns) = d.atime_ns {
                a.atime = attr::time(ns);
            }
        }
        a
    }

    /// Makes the kernel ask for `ino`'s attributes again before it trusts
    /// its cached size (another mount committed a new version: its next
    /// read past the old size must not stop there).
    fn kernel_attrs_stale(&self, ino: u64) {
        if let Some(n) = self.kernel.get() {
            if let Err(e) = n.inval_inode(INodeNo(ino), -1, 0) {
                tracing::debug!("invalidating the kernel's attributes of inode {ino}: {e}");
            }
        }
    }

    /// Caches the attributes a lookup (begun at `t`) fetched.
    fn fetched(&self, t: attr_cache::Ticket, r: &FsResult<FileInfo>) {
        if let Ok(info) = r {
            self.attrs.fetched(t, self.inodes.ino_of(info.id), info);
        }
    }

    /// Records in the attribute cache what a change that made `name` in
    /// directory `parent` (begun at `t`) returned: the entry it made and
    /// the parent's new attributes. A failed change may still have happened
    /// (a lost reply), so the parent's entry and listing go.
    fn entry_changed(
        &self,
        t: attr_cache::Ticket,
        parent: INodeNo,
        name: &OsStr,
        r: &FsResult<FileInfo>,
    ) {
        let Ok(info) = r else {
            self.attrs.names_unknown(parent.0);
            return self.attrs.changed(t, &[parent.0], &[]);
        };
        self.attrs.name_added(parent.0, &name.to_string_lossy());
        let fresh = self.by_ino(std::iter::once(info).chain(info.parent.as_deref()));
        self.attrs.changed(t, &[parent.0], &fresh);
    }

    /// `infos` with the kernel inode number of each, as the attribute cache
    /// takes them.
    fn by_ino<'a>(
        &self,
        infos: impl IntoIterator<Item = &'a FileInfo>,
    ) -> Vec<(u64, &'a FileInfo)> {
        infos
            .into_iter()
            .map(|i| (self.inodes.ino_of(i.id), i))
            .collect()
    }

    /// Replies to an entry-creating request and records the inode.
    async fn reply_entry(&self, r: FsResult<FileInfo>, reply: ReplyEntry) {
        match r {
            Ok(info) => {
                let a = self.attr_of(&info).await;
                self.inodes.remember(a.ino.0, &info.path);
                reply.entry(&self.entry_ttl, &a, fuser::Generation(0));
            }
            Err(e) => reply.error(errno(&e)),
        }
    }
}

impl Filesystem for AlluxioFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        let _ = config.set_max_write(self.inner.max_write);
        let _ = config.set_max_readahead(self.inner.max_write);
        let _ = config.add_capabilities(
            InitFlags::FUSE_DO_READDIRPLUS
                | InitFlags::FUSE_READDIRPLUS_AUTO
                | InitFlags::FUSE_PARALLEL_DIROPS
                | InitFlags::FUSE_ATOMIC_O_TRUNC,
        );
        if self.inner.direct_io {
            // Without it (kernels before 6.6) a shared mapping of a file
            // opened read-only fails with ENODEV; private ones still work.
            if let Err(missing) = config.add_capabilities(InitFlags::FUSE_DIRECT_IO_ALLOW_MMAP) {
                tracing::info!("direct_io: this kernel cannot map such files shared ({missing:?})");
            }
        }
        Ok(())
    }

    fn destroy(&mut self) {
        self.inner.staging.cleanup();
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let name = name.to_owned();
        self.spawn("lookup", move |s| async move {
            s.lookup(parent, &name, reply).await
        });
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if self.inner.inodes.forget(ino.0, nlookup) {
            self.inner.page_cache.forget(ino.0);
            // Its attributes stay cached until they expire: a lookup of
            // the same name soon after (the kernel dropped its dentries
            // under memory pressure) is answered from them.
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        self.spawn(
            "getattr",
            move |s| async move { s.getattr(ino, reply).await },
        );
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let change = setattr::Change {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
        };
        self.spawn("setattr", move |s| async move {
            s.setattr(ino, change, reply).await
        });
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let name = name.to_owned();
        let caller = Caller::of(req);
        self.spawn("mkdir", move |s| async move {
            s.mkdir(parent, &name, mode & !umask, caller, reply).await
        });
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let name = name.to_owned();
        self.spawn("unlink", move |s| async move {
            s.remove(parent, &name, false, reply).await
        });
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let name = name.to_owned();
        self.spawn("rmdir", move |s| async move {
            s.remove(parent, &name, true, reply).await
        });
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let (name, newname) = (name.to_owned(), newname.to_owned());
        self.spawn("rename", move |s| async move {
            s.rename(parent, &name, newparent, &newname, flags, reply)
                .await
        });
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        self.spawn(
            "open",
            move |s| async move { s.open(ino, flags, reply).await },
        );
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        self.spawn("read", move |s| async move {
            s.read(fh, offset, size, reply).await
        });
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let data = bytes::Bytes::copy_from_slice(data);
        self.spawn("write", move |s| async move {
            s.write(fh, offset, data, reply).await
        });
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        self.spawn("flush", move |s| async move { s.flush(fh, reply).await });
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.spawn(
            "release",
            move |s| async move { s.release(fh, reply).await },
        );
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.spawn("fsync", move |s| async move { s.flush(fh, reply).await });
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        self.spawn("fallocate", move |s| async move {
            s.fallocate(fh, offset, length, mode, reply).await
        });
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        self.spawn(
            "opendir",
            move |s| async move { s.opendir(ino, reply).await },
        );
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectory,
    ) {
        self.inner.readdir(fh, offset, reply);
    }

    fn readdirplus(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        self.spawn("readdirplus", move |s| async move {
            s.readdirplus(fh, offset, reply).await
        });
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.inner.handles.remove(fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        // Every namespace change is durable (journaled) before it is
        // answered, so there is nothing to sync.
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        self.spawn("statfs", move |s| async move { s.statfs(reply).await });
    }

    fn access(&self, _req: &Request, ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        // Permission bits are checked by the kernel (`default_permissions`);
        // access(2) only needs the inode to exist.
        self.spawn("access", move |s| async move {
            match s.path(ino) {
                Ok(_) => reply.ok(),
                Err(e) => reply.error(e),
            }
        });
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &std::path::Path,
        reply: ReplyEntry,
    ) {
        let (name, target) = (link_name.to_owned(), target.to_owned());
        let caller = Caller::of(req);
        self.spawn("symlink", move |s| async move {
            s.symlink(parent, &name, &target, caller, reply).await
        });
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        self.spawn(
            "readlink",
            move |s| async move { s.readlink(ino, reply).await },
        );
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let name = newname.to_owned();
        self.spawn("link", move |s| async move {
            s.link(ino, newparent, &name, reply).await
        });
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let name = name.to_owned();
        let mode = (mode & libc::S_IFMT) | (mode & 0o7777 & !umask);
        let caller = Caller::of(req);
        self.spawn("mknod", move |s| async move {
            s.mknod(parent, &name, mode, rdev, caller, reply).await
        });
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let name = name.to_owned();
        let caller = Caller::of(req);
        self.spawn("create", move |s| async move {
            s.create(parent, &name, mode & !umask, flags, caller, reply)
                .await
        });
    }
}
