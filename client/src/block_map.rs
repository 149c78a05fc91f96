//! A local worker's block file mapped read-only into memory, so that a
//! short-circuit read hands out the page-cache pages themselves instead of
//! a copy of them.
//!
//! Why it exists: a FUSE read served by `pread` copied every byte twice in
//! the daemon's process — from the block file's page cache into a fresh
//! buffer, then from the buffer into the mount's page cache when the reply
//! was written — and faulted the buffer in. A range of the mapping, handed
//! to the reply as it is, leaves only the second copy.
//!
//! A mapped page that cannot be read (an I/O error of the worker's disk)
//! would raise `SIGBUS` when touched. Every range is therefore populated
//! with `MADV_POPULATE_READ` before it is handed out, which reports such an
//! error as an error (the caller then reads with `pread`, which reports it
//! too). Block files are never truncated (a worker evicts a block by
//! unlinking its file, and the mapping keeps the inode alive), so a
//! populated page stays readable.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

/// `MADV_POPULATE_READ` (Linux 5.14), not in the `libc` crate yet.
const MADV_POPULATE_READ: libc::c_int = 22;

/// Set once a kernel refused `MADV_POPULATE_READ` (older than 5.14): no
/// more files are mapped, rather than failing every read before `pread`.
static POPULATE_UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// A whole block file mapped read-only.
#[derive(Debug)]
pub(crate) struct BlockMap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and its memory is never written through
// this process; it is unmapped only when the last reference is dropped.
unsafe impl Send for BlockMap {}
// SAFETY: as above; shared reads of immutable memory.
unsafe impl Sync for BlockMap {}

impl BlockMap {
    /// Maps the first `len` bytes of `file`; `None` if it cannot be mapped
    /// (reads then use `pread`).
    pub(crate) fn new(file: &File, len: u64) -> Option<Arc<BlockMap>> {
        if POPULATE_UNSUPPORTED.load(Ordering::Relaxed) {
            return None;
        }
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        // SAFETY: a fresh read-only shared mapping of a descriptor we own;
        // the kernel picks the address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        Some(Arc::new(BlockMap {
            ptr: NonNull::new(ptr.cast())?,
            len,
        }))
    }

    /// Bytes `offset..offset + len` of the file (`len` already cut at the
    /// end of the mapping), sharing the mapped pages. Fails if the pages
    /// cannot be read in.
    pub(crate) fn range(self: &Arc<Self>, offset: u64, len: usize) -> std::io::Result<Bytes> {
        let start = usize::try_from(offset)
            .ok()
            .filter(|&s| s.checked_add(len).is_some_and(|e| e <= self.len))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        if len == 0 {
            return Ok(Bytes::new());
        }
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as usize;
        let aligned = start - start % page;
        // SAFETY: the range lies within our mapping (checked above) and
        // starts on a page boundary; populating only reads pages in.
        let r = unsafe {
            libc::madvise(
                self.ptr.as_ptr().add(aligned).cast(),
                start + len - aligned,
                MADV_POPULATE_READ,
            )
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) {
                POPULATE_UNSUPPORTED.store(true, Ordering::Relaxed);
            }
            return Err(e);
        }
        Ok(Bytes::from_owner(Mapped {
            map: self.clone(),
            start,
            len,
        }))
    }
}

impl Drop for BlockMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, once, after the
        // last reference to it (and to every range) is gone.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// A range of a mapping, kept alive by its [`Bytes`].
struct Mapped {
    map: Arc<BlockMap>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the range was checked to lie within the mapping, which
        // lives as long as `self.map`; the memory is read-only.
        unsafe { std::slice::from_raw_parts(self.map.ptr.as_ptr().add(self.start), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn ranges_share_the_file_bytes_and_outlive_the_map_handle() {
        let mut f = tempfile_in_tmp();
        let data: Vec<u8> = (0..3 * 4096 + 100).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let map = BlockMap::new(&f, data.len() as u64).unwrap();
        let a = map.range(4095, 5000).unwrap();
        assert_eq!(&a[..], &data[4095..9095]);
        let tail = map.range(3 * 4096, 100).unwrap();
        drop(map);
        // The ranges keep the mapping alive.
        assert_eq!(&tail[..], &data[3 * 4096..]);
        assert_eq!(&a[..], &data[4095..9095]);
    }

    #[test]
    fn a_range_reads_what_pread_reads() {
        let mut f = tempfile_in_tmp();
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 256) as u8).collect();
        f.write_all(&data).unwrap();
        let map = BlockMap::new(&f, data.len() as u64).unwrap();
        for (off, len) in [
            (0, 1),
            (1, 4096),
            (4096, 4096),
            (12_345, 7_655),
            (0, 20_000),
        ] {
            let mapped = map.range(off, len).unwrap();
            let read = crate::local_block::pread_exact(&f, off, len, data.len() as u64).unwrap();
            assert_eq!(mapped, read, "{off}+{len}");
        }
    }

    #[test]
    fn out_of_range_is_refused() {
        let mut f = tempfile_in_tmp();
        f.write_all(&[7u8; 10]).unwrap();
        let map = BlockMap::new(&f, 10).unwrap();
        assert!(map.range(5, 6).is_err());
        assert!(map.range(u64::MAX, 1).is_err());
        assert_eq!(&map.range(5, 5).unwrap()[..], &[7u8; 5]);
        assert!(BlockMap::new(&f, 0).is_none());
    }

    /// An unlinked temporary file, open for reading and writing.
    fn tempfile_in_tmp() -> File {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("block-map-{}-{n}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)
            .unwrap();
        std::fs::remove_file(&p).unwrap();
        f
    }
}
