//! A log file rotated by size, the way log4j's `RollingFileAppender` (which
//! Alluxio ships) does it: `master.log` is the current file; when a write
//! would take it past the limit it becomes `master.log.1`, the previous
//! `.1` becomes `.2`, and so on, and the oldest beyond the kept count is
//! deleted. Size-based rather than daily so a burst of logging cannot fill
//! the disk: at most `(max_files + 1) × max_size` bytes are ever kept.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The current log file and its rotation limits.
#[derive(Debug)]
pub struct RollingFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_files: u64,
}

impl RollingFile {
    /// Opens (appending to) `path`, creating its directory. Rotates once
    /// `max_size` bytes would be exceeded (at least 1 KiB), keeping
    /// `max_files` rotated files.
    pub fn open(path: &Path, max_size: u64, max_files: u64) -> io::Result<RollingFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(RollingFile {
            path: path.to_path_buf(),
            file,
            size,
            max_size: max_size.max(1024),
            max_files,
        })
    }

    fn backup(&self, n: u64) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.max_files == 0 {
            // Nothing kept: start the file again.
            self.file = File::create(&self.path)?;
            self.size = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(self.backup(self.max_files));
        for n in (1..self.max_files).rev() {
            let from = self.backup(n);
            if from.exists() {
                std::fs::rename(&from, self.backup(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.backup(1))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.max_size {
            // A failed rotation must not lose the line: keep writing to
            // the current file and try again at the next write.
            if let Err(e) = self.rotate() {
                let _ = writeln!(self.file, "log rotation failed: {e}");
            }
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_a_bounded_number_of_files() {
        let dir = std::env::temp_dir().join(format!("alluxio-rolling-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("logs").join("master.log");
        let mut log = RollingFile::open(&path, 1024, 2).unwrap();
        let line = [b'x'; 299];
        for i in 0..20 {
            log.write_all(&line).unwrap();
            writeln!(log, "{i}").unwrap();
        }
        log.flush().unwrap();
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&path) <= 1024, "{}", size(&path));
        assert!(size(&log.backup(1)) > 0 && size(&log.backup(1)) <= 1024);
        assert!(log.backup(2).exists());
        assert!(!log.backup(3).exists(), "only two rotated files are kept");
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.ends_with("19\n"), "{current}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
