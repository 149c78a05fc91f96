//! Journal failures. Each names the object (and offset) involved so an
//! operator can find it; conversion to the API error happens once, here.

use alluxio_common::FsError;

/// Errors of journal storage, replay and publication.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    #[error("journal folder {folder} is not formatted: run `alluxio format` first")]
    NotFormatted { folder: String },
    #[error(
        "journal folder {folder} has format {found:?}; this master reads formats 1 to {supported}"
    )]
    WrongFormat {
        folder: String,
        found: String,
        supported: u32,
    },
    #[error("corrupt journal object {file} at offset {offset}: {reason}")]
    Corrupt {
        file: String,
        offset: u64,
        reason: String,
    },
    #[error("journal has a gap: next object {expected} is missing but {found} exists")]
    Gap { expected: String, found: String },
    #[error("journal slot {slot} was taken by another master: this master was fenced")]
    Fenced { slot: String },
    #[error("journal I/O error on {path}: {message}")]
    Io { path: String, message: String },
    /// The store had no room for a write (ENOSPC, EDQUOT): nothing after
    /// it was acknowledged; writing can resume once space is freed.
    #[error("the journal folder is full (writing {path}: {message})")]
    Full { path: String, message: String },
    #[error("journal object {name} was collected while being read")]
    Vanished { name: String },
    #[error("the journal writer has stopped")]
    Closed,
    #[error("journal folder {folder} is unsafe: {reason}")]
    UnsafeFolder { folder: String, reason: String },
}

impl JournalError {
    /// Whether trying again later may succeed: an I/O error (a store that
    /// is unreachable or failing for a moment), an object collected under
    /// the reader. Damage, gaps and configuration errors stay until someone
    /// acts.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JournalError::Io { .. } | JournalError::Vanished { .. } | JournalError::Full { .. }
        )
    }

    /// An error of a write to the store: `Full` when it lacked space.
    pub(crate) fn write(path: impl std::fmt::Display, err: std::io::Error) -> Self {
        if matches!(
            err.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        ) {
            JournalError::Full {
                path: path.to_string(),
                message: err.to_string(),
            }
        } else {
            JournalError::io(path, err)
        }
    }

    pub(crate) fn io(path: impl std::fmt::Display, err: impl std::fmt::Display) -> Self {
        JournalError::Io {
            path: path.to_string(),
            message: err.to_string(),
        }
    }
}

impl From<JournalError> for FsError {
    fn from(err: JournalError) -> FsError {
        match err {
            // The client retries these; another (or this, restarted) master takes over.
            JournalError::Fenced { .. }
            | JournalError::Closed
            | JournalError::Io { .. }
            | JournalError::Vanished { .. } => FsError::Unavailable(err.to_string()),
            // Not retried: the client hears at once why its change failed.
            JournalError::Full { .. } => FsError::NoSpace(err.to_string()),
            JournalError::Corrupt { .. } | JournalError::Gap { .. } => {
                FsError::Corrupt(err.to_string())
            }
            JournalError::NotFormatted { .. }
            | JournalError::WrongFormat { .. }
            | JournalError::UnsafeFolder { .. } => FsError::FailedPrecondition(err.to_string()),
        }
    }
}
