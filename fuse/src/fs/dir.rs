//! Names: lookup, directory listings (readdir and readdirplus), mkdir,
//! rmdir, unlink and rename.
//!
//! A listing is taken once at `opendir` and served from the handle, so the
//! kernel's offsets stay valid while the directory changes, and
//! `readdirplus` answers `ls -l` from that one listing (no RPC per entry).

use std::ffi::OsStr;

use alluxio_client::{
    CreateDirectoryOptions, DeleteOptions, FileType as AlluxioType, FsError, RenameOptions,
    RenameResponse,
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
        if let Some((ino, info, left)) = self.attrs.lookup(&path) {
            let a = self.attr_of(&info).await;
            self.inodes.remember(ino, &info.path);
            return reply.entry(&left.min(self.entry_ttl), &a, fuser::Generation(0));
        }
        let name = name.to_string_lossy();
        if self.attrs.missing(parent.0, &name) {
            return reply.error(Errno::ENOENT);
        }
        if self.attrs.should_refresh(parent.0) {
            if let Some(r) = self.refresh_listing(parent, &name).await {
                return self.reply_entry(r, reply).await;
            }
        }
        let t = self.attrs.ticket();
        let r = self.fs.get_status(&path).await;
        self.fetched(t, &r);
        self.reply_entry(r, reply).await;
    }

    /// Fetches the whole listing of directory `parent` for the attribute
    /// cache (a lookup in a small directory whose listing just expired:
    /// one call now saves one per name looked up for the next
    /// `attr_timeout`) and answers the lookup of `name` from it. `None` if
    /// the listing could not be fetched.
    async fn refresh_listing(
        &self,
        parent: INodeNo,
        name: &str,
    ) -> Option<alluxio_client::FsResult<alluxio_client::FileInfo>> {
        let dir = self.path(parent).ok()?;
        let t = self.attrs.ticket();
        let infos = self.fs.list_status_with(&dir, false, true).await.ok()?;
        for info in &infos {
            self.attrs.fetched(t, self.inodes.ino_of(info.id), info);
        }
        self.attrs
            .listed(t, parent.0, infos.iter().map(|i| i.name.as_str()));
        Some(match infos.into_iter().find(|i| i.name == name) {
            Some(info) => Ok(info),
            None => Err(FsError::NotFound(format!("{dir}/{name}"))),
        })
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
            mode: Some(mode & 0o7777),
            owner: Some(owner),
            group: Some(group),
        };
        let t = self.attrs.ticket();
        let r = self.fs.create_directory(&path, opts).await;
        self.entry_changed(t, parent, name, &r);
        if let Ok(info) = &r {
            self.attrs.made_empty(t, self.inodes.ino_of(info.id));
        }
        self.reply_entry(r, reply).await;
    }

    /// unlink (`dir == false`) and rmdir (`dir == true`).
    pub(super) async fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: ReplyEmpty) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // POSIX wants the kind checked (ENOTDIR, EISDIR): the master does
        // it atomically with the delete.
        let opts = DeleteOptions {
            directory: Some(dir),
            ..Default::default()
        };
        self.settle_under(&path).await;
        let kept = if dir {
            Vec::new()
        } else {
            self.keep_open_files(&path).await
        };
        let t = self.attrs.ticket();
        let r = self.fs.delete_reply(&path, opts).await;
        let removed = if r.is_ok() {
            self.inodes.removed(&path)
        } else {
            Vec::new()
        };
        self.kept_open_files(kept).await;
        match r {
            Ok(r) => {
                self.attrs.name_removed(parent.0, &name.to_string_lossy());
                let mut stale = removed;
                stale.push(parent.0);
                self.attrs
                    .changed(t, &stale, &self.by_ino(r.parent.as_ref()));
                reply.ok()
            }
            Err(e) => {
                // Refused, or lost its reply: the parent may have changed.
                self.attrs.names_unknown(parent.0);
                self.attrs.changed(t, &[parent.0], &[]);
                reply.error(errno(&e))
            }
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
        let kept = if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_NOREPLACE)
        {
            Vec::new()
        } else {
            self.keep_open_files(&dst).await
        };
        self.attrs.paths_moved();
        // Every inode the rename may touch, known before the inode table
        // moves their paths; dropped from the attribute cache whatever the
        // outcome (a failed rename may have deleted the target).
        let mut stale = self.inodes.at(&src);
        stale.extend(self.inodes.at(&dst));
        stale.extend([parent.0, newparent.0]);
        let t = self.attrs.ticket();
        let r = self.rename_paths(&src, &dst, flags).await;
        self.kept_open_files(kept).await;
        match r {
            Ok(r) => {
                if !flags.contains(RenameFlags::RENAME_EXCHANGE) {
                    self.attrs.name_removed(parent.0, &name.to_string_lossy());
                    self.attrs
                        .name_added(newparent.0, &newname.to_string_lossy());
                }
                let fresh = self.by_ino(
                    [r.src_parent.as_ref(), r.dst_parent.as_ref()]
                        .into_iter()
                        .flatten(),
                );
                self.attrs.changed(t, &stale, &fresh);
                reply.ok()
            }
            Err(e) => {
                self.attrs.names_unknown(parent.0);
                self.attrs.names_unknown(newparent.0);
                self.attrs.changed(t, &stale, &[]);
                reply.error(e)
            }
        }
    }

    /// The work of `rename` once both paths are known and differ; returns
    /// the master's reply (the parents after the rename).
    async fn rename_paths(
        &self,
        src: &str,
        dst: &str,
        flags: RenameFlags,
    ) -> Result<RenameResponse, Errno> {
        if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            let opts = RenameOptions {
                exchange: true,
                ..Default::default()
            };
            let r = self.fs.rename_reply(src, dst, opts).await;
            let r = r.map_err(|e| errno(&e))?;
            self.inodes.exchanged(src, dst);
            return Ok(r);
        }
        let target = match self.fs.get_status(dst).await {
            Ok(i) => Some(i),
            Err(FsError::NotFound(_)) => None,
            Err(e) => return Err(errno(&e)),
        };
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        if let Some(t) = &target {
            if no_replace {
                return Err(Errno::EEXIST);
            }
            // POSIX: a directory may only replace an empty directory, a
            // file only a file. The master replaces files only.
            if t.file_type == AlluxioType::Directory as i32 {
                let src_info = self.fs.get_status(src).await.map_err(|e| errno(&e))?;
                if src_info.file_type != AlluxioType::Directory as i32 {
                    return Err(Errno::EISDIR);
                }
                match self.fs.list_status(dst, false).await {
                    Ok(l) if !l.is_empty() => return Err(Errno::ENOTEMPTY),
                    Ok(_) => {}
                    Err(e) => return Err(errno(&e)),
                }
                let opts = DeleteOptions {
                    directory: Some(true),
                    ..Default::default()
                };
                self.fs.delete(dst, opts).await.map_err(|e| errno(&e))?;
            }
        }
        // The master checks NOREPLACE again under its lock: a target that
        // appeared since the check above still fails with EEXIST.
        let opts = RenameOptions {
            no_replace,
            ..Default::default()
        };
        let r = self.fs.rename_reply(src, dst, opts).await;
        let r = r.map_err(|e| errno(&e))?;
        if target.is_some() {
            self.inodes.removed(dst);
        }
        self.inodes.renamed(src, dst);
        Ok(r)
    }

    pub(super) async fn opendir(&self, ino: INodeNo, reply: ReplyOpen) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let ticket = self.attrs.ticket();
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
        let fh = self.handles.insert(Handle::Dir { entries, ticket });
        reply.opened(FileHandle(fh), fuser::FopenFlags::empty());
    }

    pub(super) fn readdir(&self, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Dir { entries, .. } = &*h else {
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
        let Handle::Dir { entries, ticket } = &*h else {
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
                self.attrs.fetched(*ticket, e.ino, info);
            }
        }
        reply.ok();
    }
}
