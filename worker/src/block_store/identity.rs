//! The worker's identity: a random id kept in its top tier directory, which
//! the master uses as the worker's id. It names what this block store
//! holds, so it is the same after a master failover and after a worker
//! restart — a per-leader counter was not, and after a failover two workers
//! could swap ids, one's heartbeats and block commits being taken for the
//! other's. A wiped top tier starts a new identity, as it should: the
//! blocks it named are gone.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::{io_err, StoreError};

/// Name of the identity file in the top tier's block directory.
pub(super) const IDENTITY_FILE: &str = ".identity";

/// Reads the identity kept in `dir`, making (durably) a new one if there is
/// none. A damaged file is an error naming it, never a silent new identity.
pub(super) fn load_or_create(dir: &Path) -> Result<u64, StoreError> {
    let path = dir.join(IDENTITY_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(id) if id != 0 && id <= i64::MAX as u64 => Ok(id),
            _ => Err(StoreError::Io {
                context: format!("reading the worker identity {}", path.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{:?} is not a worker identity (a number from 1 to 2^63-1); \
                         delete the file to give this worker a new one",
                        text.trim()
                    ),
                ),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(dir, &path),
        Err(e) => Err(io_err(format!("reading {}", path.display()))(e)),
    }
}

fn create(dir: &Path, path: &Path) -> Result<u64, StoreError> {
    // Positive as a signed 64-bit number too (Alluxio's worker ids are Java longs).
    let id = rand::random_range(1..=i64::MAX as u64);
    let tmp = dir.join(format!("{IDENTITY_FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(format!("{id}\n").as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    };
    write().map_err(io_err(format!("writing {}", path.display())))?;
    tracing::info!("new worker identity {id} ({})", path.display());
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let id = load_or_create(dir.path()).unwrap();
        assert!(id > 0 && id <= i64::MAX as u64);
        assert_eq!(load_or_create(dir.path()).unwrap(), id);
        assert!(!dir.path().join(".identity.tmp").exists());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(IDENTITY_FILE), "garbage\n").unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(".identity") && err.contains("garbage"),
            "{err}"
        );
        fs::write(dir.path().join(IDENTITY_FILE), "0\n").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}
