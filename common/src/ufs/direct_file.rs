//! The streamed UFS copy of a file on a local disk, written around the page
//! cache (`O_DIRECT`).
//!
//! With `CACHE_THROUGH` every byte written through the mount goes to the
//! worker's block file and to the UFS copy. The block file is what later
//! reads are served from, so it belongs in the page cache; the UFS copy is
//! only read again when the worker has lost the block. Written through the
//! page cache, the UFS copy costs a second copy into freshly allocated
//! pages on the writer's CPU and a second gigabyte of dirty pages for the
//! final `fsync` to wait on. Written directly, the device copies it from
//! our buffer while the stream goes on.
//!
//! Bytes are gathered into an aligned chunk and each full chunk goes out
//! with one direct write at an aligned offset; the unaligned tail is written
//! through the page cache at close. A file system that will not open a file
//! with `O_DIRECT`, or refuses a direct write as misaligned (`EINVAL`), gets
//! every remaining byte through the page cache instead — never an error.

use std::alloc::{self, Layout};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::ptr::NonNull;

/// Offsets, lengths and buffer addresses of direct writes are multiples of
/// this (the largest logical block size of the disks we meet).
const ALIGN: usize = 4096;
/// Bytes gathered before a direct write.
const CHUNK: usize = 1 << 20;

/// A heap buffer aligned for direct I/O.
struct AlignedBuf {
    ptr: NonNull<u8>,
}

// SAFETY: the buffer is plain bytes owned by this value alone.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    fn layout() -> Layout {
        Layout::from_size_align(CHUNK, ALIGN).expect("constant layout")
    }

    fn new() -> AlignedBuf {
        let layout = Self::layout();
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            alloc::handle_alloc_error(layout)
        };
        AlignedBuf { ptr }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` points to CHUNK bytes owned by self (zeroing is not
        // needed: only the filled prefix is ever read).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), CHUNK) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), CHUNK) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout()) }
    }
}

/// The direct half of a streamed local write: a second descriptor of the
/// file opened with `O_DIRECT`, and the chunk being gathered.
struct Direct {
    file: File,
    buf: AlignedBuf,
    filled: usize,
}

/// A file written from its start to its end: full chunks directly, the
/// rest through the page cache.
pub(crate) struct StreamFile {
    /// Opened normally: the tail, the fallback and the final `fsync`.
    file: File,
    /// Where the next byte goes (after the gathered ones).
    offset: u64,
    direct: Option<Direct>,
}

/// Writes as much of `data` at `offset` with direct writes as the kernel
/// takes; returns how much went out and the error that stopped it, if any.
fn write_direct(file: &File, data: &[u8], offset: u64) -> (usize, Option<io::Error>) {
    let mut done = 0;
    while done < data.len() {
        match file.write_at(&data[done..], offset + done as u64) {
            Ok(0) => return (done, Some(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Some(e)),
        }
    }
    (done, None)
}

impl StreamFile {
    /// `file` (just created, empty) and, when `direct_at` names it and the
    /// file system accepts it, a direct descriptor of the same file.
    pub(crate) fn new(file: File, direct_at: Option<&Path>) -> StreamFile {
        let direct = direct_at
            .and_then(|path| {
                OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_DIRECT)
                    .open(path)
                    .ok()
            })
            .map(|file| Direct {
                file,
                buf: AlignedBuf::new(),
                filled: 0,
            });
        StreamFile {
            file,
            offset: 0,
            direct,
        }
    }

    /// Whether bytes still go around the page cache.
    #[cfg(test)]
    pub(crate) fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Appends `data`.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while let Some(d) = self.direct.as_mut() {
            if data.is_empty() {
                return Ok(());
            }
            let n = data.len().min(CHUNK - d.filled);
            d.buf.bytes_mut()[d.filled..d.filled + n].copy_from_slice(&data[..n]);
            d.filled += n;
            data = &data[n..];
            if d.filled == CHUNK {
                self.flush_direct(CHUNK)?;
            }
        }
        self.file.write_all_at(data, self.offset)?;
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Writes the first `len` (aligned) gathered bytes directly, keeping the
    /// rest gathered; on a refusal writes all of them through the page
    /// cache and stops writing directly.
    fn flush_direct(&mut self, len: usize) -> io::Result<()> {
        let Some(d) = self.direct.as_mut() else {
            return Ok(());
        };
        let (done, err) = write_direct(&d.file, &d.buf.bytes()[..len], self.offset);
        self.offset += done as u64;
        match err {
            None => {
                d.buf.bytes_mut().copy_within(len..d.filled, 0);
                d.filled -= len;
                Ok(())
            }
            Some(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                let d = self.direct.take().expect("checked above");
                let rest = &d.buf.bytes()[done..d.filled];
                self.file.write_all_at(rest, self.offset)?;
                self.offset += rest.len() as u64;
                Ok(())
            }
            Some(e) => Err(e),
        }
    }

    /// Writes what is gathered and makes the whole file durable.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Some(filled) = self.direct.as_ref().map(|d| d.filled) {
            let aligned = filled - filled % ALIGN;
            if aligned > 0 {
                self.flush_direct(aligned)?;
            }
            if let Some(d) = self.direct.take() {
                let tail = &d.buf.bytes()[..d.filled];
                self.file.write_all_at(tail, self.offset)?;
                self.offset += tail.len() as u64;
            }
        }
        super::local::fsync(&self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn dir(tag: &str) -> std::path::PathBuf {
        // /var/tmp: a disk on the machines we test on (/tmp may be tmpfs).
        let base = Path::new("/var/tmp");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("direct-file-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Pieces of awkward sizes, in both modes: the file holds exactly the
    /// bytes written, in order.
    #[test]
    fn odd_pieces_land_in_order() {
        let d = dir("odd");
        let sizes = [1, 4095, CHUNK + 3, 7, CHUNK - 10, 2 * CHUNK, 4096, 123_457];
        for direct in [true, false] {
            let path = d.join(format!("f-{direct}"));
            let file = File::create(&path).unwrap();
            let mut s = StreamFile::new(file, direct.then_some(path.as_path()));
            let mut want = Vec::new();
            for (i, n) in sizes.iter().enumerate() {
                let piece = pattern(*n, i as u8);
                s.write(&piece).unwrap();
                want.extend_from_slice(&piece);
            }
            s.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), want, "direct={direct}");
        }
        // An empty file and one smaller than a block.
        for len in [0, 100] {
            let path = d.join(format!("small-{len}"));
            let mut s = StreamFile::new(File::create(&path).unwrap(), Some(&path));
            s.write(&pattern(len, 9)).unwrap();
            s.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), pattern(len, 9));
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A direct write the disk refuses as misaligned (here: the file
    /// already holds one byte, so every chunk starts at an odd offset) sends
    /// the chunk, and everything after it, through the page cache.
    #[test]
    fn a_refused_direct_write_falls_back() {
        let d = dir("fallback");
        let path = d.join("f");
        let mut s = StreamFile::new(File::create(&path).unwrap(), Some(&path));
        if !s.is_direct() {
            eprintln!("skipped: {} refuses O_DIRECT", d.display());
            return;
        }
        s.file.write_all_at(b"z", 0).unwrap();
        s.offset = 1;
        let data = pattern(3 * CHUNK + 5, 4);
        s.write(&data).unwrap();
        if s.is_direct() {
            eprintln!("skipped: {} takes unaligned direct writes", d.display());
            return;
        }
        s.finish().unwrap();
        let mut want = b"z".to_vec();
        want.extend_from_slice(&data);
        assert_eq!(std::fs::read(&path).unwrap(), want);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Pages in the page cache of the first `len` bytes of `path`.
    fn resident(path: &Path, len: usize) -> usize {
        use std::os::fd::AsRawFd;
        let f = File::open(path).unwrap();
        // SAFETY: a read-only mapping, never touched, unmapped below.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert_ne!(addr, libc::MAP_FAILED);
        let mut vec = vec![0u8; len.div_ceil(4096)];
        // SAFETY: one byte per page of the mapping.
        assert_eq!(unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) }, 0);
        // SAFETY: mapped above with this length.
        unsafe { libc::munmap(addr, len) };
        vec.iter().filter(|b| *b & 1 == 1).count()
    }

    /// Written directly, the full chunks leave nothing in the page cache
    /// (only the tail's pages may stay); written normally, all of it stays.
    #[test]
    fn direct_writes_skip_the_page_cache() {
        let d = dir("cache");
        let len = 8 * CHUNK + 100;
        let data = pattern(len, 3);
        let path = d.join("direct");
        let mut s = StreamFile::new(File::create(&path).unwrap(), Some(&path));
        if !s.is_direct() {
            eprintln!("skipped: {} refuses O_DIRECT", d.display());
            return;
        }
        for piece in data.chunks(300_000) {
            s.write(piece).unwrap();
        }
        s.finish().unwrap();
        assert!(s.direct.is_none());
        assert!(resident(&path, len) <= 1, "direct chunks are cached");
        assert_eq!(std::fs::read(&path).unwrap(), data);

        let path = d.join("buffered");
        let mut s = StreamFile::new(File::create(&path).unwrap(), None);
        s.write(&data).unwrap();
        s.finish().unwrap();
        assert_eq!(resident(&path, len), len.div_ceil(4096));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
