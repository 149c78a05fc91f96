//! The local file behind a staged copy, created when the first byte is
//! written to it. Most files created through the mount are written in
//! order and stream straight to the cluster (write-behind), and `touch`
//! writes nothing at all, so a create should not pay for a local file it
//! may never use (on this project's test machine, creating a file under
//! `/tmp` costs as much as the rest of a create).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Zeros to write or stream where a file's bytes are an allocated range
/// nothing was written to.
pub static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Names of temporary files, unique within the process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A staged copy's bytes: no file until something is written.
pub struct StageFile {
    dir: Arc<Path>,
    file: Option<File>,
}

impl StageFile {
    /// An empty copy whose file, when needed, lives in `dir`.
    pub fn new(dir: Arc<Path>) -> StageFile {
        StageFile { dir, file: None }
    }

    fn file(&mut self) -> std::io::Result<&File> {
        if self.file.is_none() {
            let p = self
                .dir
                .join(format!("stage-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&p)?;
            // Unlinked at once: a crashed daemon leaves nothing behind.
            std::fs::remove_file(&p)?;
            self.file = Some(f);
        }
        Ok(self.file.as_ref().expect("just created"))
    }

    /// Bytes staged (the file's size).
    pub fn len(&self) -> std::io::Result<u64> {
        match &self.file {
            Some(f) => Ok(f.metadata()?.len()),
            None => Ok(0),
        }
    }

    /// Writes `data` at `off`, creating the file first if needed.
    pub fn write_all_at(&mut self, data: &[u8], off: u64) -> std::io::Result<()> {
        self.file()?.write_all_at(data, off)
    }

    /// Truncates or extends to `len` bytes (an empty copy stays fileless).
    pub fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        if self.file.is_none() && len == 0 {
            return Ok(());
        }
        self.file()?.set_len(len)
    }

    /// `fallocate(2)` of `off..off + len` with `mode` (0, or
    /// `FALLOC_FL_KEEP_SIZE`, `FALLOC_FL_PUNCH_HOLE` and
    /// `FALLOC_FL_ZERO_RANGE` combined as fallocate(2) allows), done by the
    /// staging file system, or by writing zeros and resizing where it
    /// does not support the mode (tmpfs has no `ZERO_RANGE`).
    pub fn allocate(&mut self, mode: i32, off: u64, len: u64) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let fd = self.file()?.as_raw_fd();
        let (Ok(o), Ok(l)) = (i64::try_from(off), i64::try_from(len)) else {
            return Err(std::io::Error::from_raw_os_error(libc::EFBIG));
        };
        // SAFETY: `fd` is this copy's open file for the duration of the call.
        if unsafe { libc::fallocate(fd, mode, o, l) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
            return Err(e);
        }
        let size = self.len()?;
        let end = off
            .checked_add(len)
            .ok_or(std::io::Error::from_raw_os_error(libc::EFBIG))?;
        let keep_size = mode & libc::FALLOC_FL_KEEP_SIZE != 0;
        if mode & (libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE) != 0 {
            let zero_to = if keep_size { end.min(size) } else { end };
            let mut at = off;
            while at < zero_to {
                let n = (zero_to - at).min(ZEROS.len() as u64) as usize;
                self.write_all_at(&ZEROS[..n], at)?;
                at += n as u64;
            }
        }
        if !keep_size && end > size {
            self.set_len(end)?;
        }
        Ok(())
    }

    /// Reads into `buf` at `off`; 0 at the end.
    pub fn read_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<usize> {
        match &self.file {
            Some(f) => f.read_at(buf, off),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_until_written_and_none_left_in_the_directory() {
        let dir = std::env::temp_dir().join(format!("stage-file-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = StageFile::new(Arc::from(dir.as_path()));
        assert_eq!(f.len().unwrap(), 0);
        f.set_len(0).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(f.read_at(&mut buf, 0).unwrap(), 0);
        assert!(f.file.is_none(), "a file was created without a write");
        f.write_all_at(b"abc", 2).unwrap();
        assert_eq!(f.len().unwrap(), 5);
        assert_eq!(f.read_at(&mut buf, 1).unwrap(), 4);
        assert_eq!(&buf, b"\0abc");
        f.set_len(3).unwrap();
        assert_eq!(f.len().unwrap(), 3);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();
    }
}
