//! File attributes as the kernel wants them, built from the master's
//! `FileInfo` (and from a staged copy's size while a file is being written).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alluxio_client::{FileInfo, FileType as AlluxioType};
use fuser::{FileAttr, FileType, INodeNo};

use super::ids::Ids;

/// Block size reported by `stat` (the preferred I/O size): large, so tools
/// like `cp` move data in big requests.
const BLKSIZE: u32 = 1 << 20;

/// The time `ns` nanoseconds after the epoch.
pub fn time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

/// Nanoseconds since the epoch of `t`.
pub fn nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i64,
        Err(e) => -(e.duration().as_nanos() as i64),
    }
}

/// The kernel's file type of `info`.
pub fn kind(info: &FileInfo) -> FileType {
    match AlluxioType::try_from(info.file_type) {
        Ok(AlluxioType::Directory) => FileType::Directory,
        Ok(AlluxioType::Symlink) => FileType::Symlink,
        Ok(AlluxioType::Fifo) => FileType::NamedPipe,
        Ok(AlluxioType::Socket) => FileType::Socket,
        Ok(AlluxioType::CharDevice) => FileType::CharDevice,
        Ok(AlluxioType::BlockDevice) => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}

/// The attributes of `info`, reported as inode `ino`.
pub fn attr(ids: &Ids, ino: u64, info: &FileInfo) -> FileAttr {
    let kind = kind(info);
    let size = match kind {
        FileType::Directory => 4096,
        _ => info.length,
    };
    let nlink = match (kind, info.nlink) {
        (_, n) if n > 0 => n,
        (FileType::Directory, _) => 2,
        _ => 1,
    };
    let mtime = time(info.mtime_ns);
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: if info.atime_ns == 0 {
            mtime
        } else {
            time(info.atime_ns)
        },
        mtime,
        ctime: if info.ctime_ns == 0 {
            mtime
        } else {
            time(info.ctime_ns)
        },
        crtime: time(info.crtime_ns),
        kind,
        perm: (info.mode & 0o7777) as u16,
        nlink,
        uid: ids.uid(&info.owner),
        gid: ids.gid(&info.group),
        rdev: info.rdev as u32,
        blksize: BLKSIZE,
        flags: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_directory_attributes() {
        let ids = Ids::default();
        let info = FileInfo {
            id: 7,
            file_type: AlluxioType::Regular as i32,
            length: 1000,
            mode: 0o100644,
            owner: "root".into(),
            group: "root".into(),
            mtime_ns: 1_500_000_000_000_000_000,
            ..Default::default()
        };
        let a = attr(&ids, 7, &info);
        assert_eq!(a.kind, FileType::RegularFile);
        assert_eq!(a.perm, 0o644);
        assert_eq!(a.size, 1000);
        assert_eq!(a.blocks, 2);
        assert_eq!(a.nlink, 1);
        assert_eq!(nanos(a.mtime), info.mtime_ns);
        let dir = FileInfo {
            file_type: AlluxioType::Directory as i32,
            mode: 0o755,
            ..info
        };
        assert_eq!(attr(&ids, 7, &dir).kind, FileType::Directory);
    }
}
