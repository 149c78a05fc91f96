//! Names: lookup, directory listings (readdir and readdirplus), mkdir,
//! rmdir, unlink and rename.
//!
//! A listing is taken once at `opendir` and served from the handle, so the
//! kernel's offsets stay valid while the directory changes, and
//! `readdirplus` answers `ls -l` from that one listing (no RPC per entry).

use std::ffi::OsStr;

use alluxio_client::{
    CreateDirectoryOptions, DeleteOptions, FileType as AlluxioType, FsError, RenameOptions,
};
use fuser::{
    Errno, FileHandle, FileType, INodeNo, RenameFlags, ReplyDirectory, ReplyDirectoryPlus,
    ReplyEmpty, ReplyEntry, ReplyOpen,
};

use super::handles::{DirEntry, Handle};
use super::inodes::ROOT;
use super::{attr, Inner};
use crate::errno::errno;

impl Inner {
    pub(super) async fn lookup(&self, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let r = self.fs.get_status(&path).await;
        self.reply_entry(r, reply).await;
    }

    pub(super) async fn mkdir(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        caller: super::Caller,
        reply: ReplyEntry,
    ) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let (owner, group) = self.names(caller);
        let opts = CreateDirectoryOptions {
            recursive: false,
            allow_exists: false,
            mode: mode & 0o7777,
            owner: Some(owner),
            group: Some(group),
        };
        let r = self.fs.create_directory(&path, opts).await;
        self.reply_entry(r, reply).await;
    }

    /// unlink (`dir == false`) and rmdir (`dir == true`).
    pub(super) async fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: ReplyEmpty) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // The master deletes either kind; POSIX wants the kind checked.
        let info = match self.fs.get_status(&path).await {
            Ok(i) => i,
            Err(e) => return reply.error(errno(&e)),
        };
        let is_dir = info.file_type == AlluxioType::Directory as i32;
        if dir && !is_dir {
            return reply.error(Errno::ENOTDIR);
        }
        if !dir && is_dir {
            return reply.error(Errno::EISDIR);
        }
        self.settle_under(&path).await;
        match self.fs.delete(&path, DeleteOptions::default()).await {
            Ok(()) => {
                self.inodes.removed(&path);
                reply.ok()
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    pub(super) async fn rename(
        &self,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.contains(RenameFlags::RENAME_WHITEOUT) {
            return reply.error(Errno::EINVAL);
        }
        let (src, dst) = match (self.child(parent, name), self.child(newparent, newname)) {
            (Ok(s), Ok(d)) => (s, d),
            (Err(e), _) | (_, Err(e)) => return reply.error(e),
        };
        if src == dst {
            return reply.ok();
        }
        self.settle_under(&src).await;
        self.settle_under(&dst).await;
        if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            let opts = RenameOptions {
                exchange: true,
                ..Default::default()
            };
            return match self.fs.rename_with(&src, &dst, opts).await {
                Ok(()) => {
                    self.inodes.exchanged(&src, &dst);
                    reply.ok()
                }
                Err(e) => reply.error(errno(&e)),
            };
        }
        let target = match self.fs.get_status(&dst).await {
            Ok(i) => Some(i),
            Err(FsError::NotFound(_)) => None,
            Err(e) => return reply.error(errno(&e)),
        };
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        if let Some(t) = &target {
            if no_replace {
                return reply.error(Errno::EEXIST);
            }
            // POSIX: a directory may only replace an empty directory, a
            // file only a file. The master replaces files only.
            if t.file_type == AlluxioType::Directory as i32 {
                let src_info = match self.fs.get_status(&src).await {
                    Ok(i) => i,
                    Err(e) => return reply.error(errno(&e)),
                };
                if src_info.file_type != AlluxioType::Directory as i32 {
                    return reply.error(Errno::EISDIR);
                }
                match self.fs.list_status(&dst, false).await {
                    Ok(l) if !l.is_empty() => return reply.error(Errno::ENOTEMPTY),
                    Ok(_) => {}
                    Err(e) => return reply.error(errno(&e)),
                }
                if let Err(e) = self.fs.delete(&dst, DeleteOptions::default()).await {
                    return reply.error(errno(&e));
                }
            }
        }
        // The master checks NOREPLACE again under its lock: a target that
        // appeared since the check above still fails with EEXIST.
        let opts = RenameOptions {
            no_replace,
            ..Default::default()
        };
        match self.fs.rename_with(&src, &dst, opts).await {
            Ok(()) => {
                if target.is_some() {
                    self.inodes.removed(&dst);
                }
                self.inodes.renamed(&src, &dst);
                reply.ok()
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    pub(super) async fn opendir(&self, ino: INodeNo, reply: ReplyOpen) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let infos = match self.fs.list_status(&path, false).await {
            Ok(l) => l,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut entries = Vec::with_capacity(infos.len() + 2);
        for dot in [".", ".."] {
            entries.push(DirEntry {
                ino: if dot == "." { ino.0 } else { ROOT },
                kind: FileType::Directory,
                name: dot.to_string(),
                info: None,
            });
        }
        for info in infos {
            entries.push(DirEntry {
                ino: self.inodes.ino_of(info.id),
                kind: attr::kind(&info),
                name: info.name.clone(),
                info: Some(info),
            });
        }
        let fh = self.handles.insert(Handle::Dir { entries });
        reply.opened(FileHandle(fh), fuser::FopenFlags::empty());
    }

    pub(super) fn readdir(&self, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Dir { entries } = &*h else {
            return reply.error(Errno::ENOTDIR);
        };
        for (i, e) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(e.ino), i as u64 + 1, e.kind, &e.name) {
                break;
            }
        }
        reply.ok();
    }

    pub(super) async fn readdirplus(
        &self,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Dir { entries } = &*h else {
            return reply.error(Errno::ENOTDIR);
        };
        for (i, e) in entries.iter().enumerate().skip(offset as usize) {
            let a = match &e.info {
                Some(info) => self.attr_of(info).await,
                None => {
                    // `.` and `..`: the kernel takes no reference and uses
                    // only the name and type.
                    let mut a = attr::attr(&self.ids, e.ino, &Default::default());
                    a.kind = FileType::Directory;
                    a
                }
            };
            if reply.add(
                INodeNo(e.ino),
                i as u64 + 1,
                &e.name,
                &self.entry_ttl,
                &a,
                fuser::Generation(0),
            ) {
                break;
            }
            if let Some(info) = &e.info {
                self.inodes.remember(e.ino, &info.path);
            }
        }
        reply.ok();
    }
}
