//! Symlinks, hard links and special files (FIFOs, sockets, devices). All
//! but regular files made by mknod are metadata-only inodes in the master:
//! the UFS has no copy of them.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use alluxio_client::{CreateFileOptions, CreateNodeOptions, FileType as AlluxioType, NodeKind};
use fuser::{Errno, INodeNo, ReplyData, ReplyEntry};

use super::{Caller, Inner};
use crate::errno::errno;

/// The kind of node a mknod mode's `S_IFMT` bits ask for (None: a regular
/// file), with device number `rdev`.
fn node_kind(mode: u32, rdev: u32) -> Result<Option<NodeKind>, Errno> {
    let rdev = u64::from(rdev);
    Ok(match mode & libc::S_IFMT {
        0 | libc::S_IFREG => None,
        libc::S_IFIFO => Some(NodeKind::Fifo),
        libc::S_IFSOCK => Some(NodeKind::Socket),
        libc::S_IFCHR => Some(NodeKind::CharDevice { rdev }),
        libc::S_IFBLK => Some(NodeKind::BlockDevice { rdev }),
        _ => return Err(Errno::EINVAL),
    })
}

impl Inner {
    pub(super) async fn symlink(
        &self,
        parent: INodeNo,
        name: &OsStr,
        target: &Path,
        caller: Caller,
        reply: ReplyEntry,
    ) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let Some(target) = target.to_str() else {
            // Alluxio paths and targets are strings.
            return reply.error(Errno::EINVAL);
        };
        let (owner, group) = self.names(caller);
        let kind = NodeKind::Symlink {
            target: target.to_string(),
        };
        let opts = CreateNodeOptions {
            owner: Some(owner),
            group: Some(group),
            ..Default::default()
        };
        let t = self.attrs.ticket();
        let r = self.fs.create_node(&path, kind, opts).await;
        self.entry_changed(t, parent, name, &r);
        self.reply_entry(r, reply).await;
    }

    pub(super) async fn readlink(&self, ino: INodeNo, reply: ReplyData) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        match self.fs.get_status(&path).await {
            Ok(info) if info.file_type == AlluxioType::Symlink as i32 => {
                reply.data(OsStr::new(&info.symlink_target).as_bytes())
            }
            Ok(_) => reply.error(Errno::EINVAL),
            Err(e) => reply.error(errno(&e)),
        }
    }

    pub(super) async fn link(
        &self,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let (src, dst) = match (self.path(ino), self.child(newparent, newname)) {
            (Ok(s), Ok(d)) => (s, d),
            (Err(e), _) | (_, Err(e)) => return reply.error(e),
        };
        // Commit staged bytes first, so the new name shows them too.
        if let Some(stage) = self.handles.stage_of(ino.0) {
            if let Err(e) = self.commit(ino.0, &stage).await {
                return reply.error(errno(&e));
            }
        }
        let t = self.attrs.ticket();
        let r = self.fs.link(&src, &dst).await;
        match &r {
            Ok(_) => self.entry_changed(t, newparent, newname, &r),
            // The link count may have changed too (a lost reply).
            Err(_) => {
                self.attrs.names_unknown(newparent.0);
                self.attrs.changed(t, &[ino.0, newparent.0], &[])
            }
        }
        self.reply_entry(r, reply).await;
    }

    /// mknod: regular files through createFile (empty and complete), the
    /// other types as metadata-only inodes.
    pub(super) async fn mknod(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        rdev: u32,
        caller: Caller,
        reply: ReplyEntry,
    ) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let kind = match node_kind(mode, rdev) {
            Ok(k) => k,
            Err(e) => return reply.error(e),
        };
        let (owner, group) = self.names(caller);
        let t = self.attrs.ticket();
        let r = match kind {
            None => {
                let opts = CreateFileOptions {
                    mode: Some(mode & 0o7777),
                    owner: Some(owner),
                    group: Some(group),
                    ..Default::default()
                };
                self.fs.create_empty_file(&path, opts).await
            }
            Some(kind) => {
                let opts = CreateNodeOptions {
                    mode: Some(mode & 0o7777),
                    owner: Some(owner),
                    group: Some(group),
                };
                self.fs.create_node(&path, kind, opts).await
            }
        };
        self.entry_changed(t, parent, name, &r);
        self.reply_entry(r, reply).await;
    }
}
