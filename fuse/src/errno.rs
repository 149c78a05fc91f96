//! The one mapping from the client's error kinds to errno values.
//!
//! Every handler that fails replies with `errno(&err)`; nothing else decides
//! an errno from an `FsError`, and nothing guesses from message text. The
//! client library has already retried `NotLeader`/`Unavailable` for its whole
//! retry budget (failover), so when one of them reaches us the cluster is
//! really gone for now: that, and only that, is EIO (or EAGAIN-like states
//! that POSIX tools would not retry anyway).

use alluxio_common::FsError;
use fuser::Errno;

/// The errno a POSIX caller sees for `err`.
///
/// Choices worth a note:
/// - `FailedPrecondition` is what the master answers for a file that is still
///   being written by another client: EBUSY tells the caller to come back
///   later, unlike EIO.
/// - `DataUnavailable` (no worker and no UFS copy can serve a block) and
///   `Corrupt` are EIO: the bytes cannot be produced.
/// - `Ufs` errors are EIO unless the UFS said something more precise, which
///   the master already turns into one of the other kinds.
/// - `NotLeader`/`Unavailable` only arrive after the client's retry budget
///   is spent; ETIMEDOUT would be more precise but many tools print it as a
///   network error of the *file*, so we keep EIO as the last resort.
pub fn errno(err: &FsError) -> Errno {
    crate::metrics::error(err.kind_name());
    match err {
        FsError::NotFound(_) => Errno::ENOENT,
        FsError::AlreadyExists(_) => Errno::EEXIST,
        FsError::NotDirectory(_) => Errno::ENOTDIR,
        FsError::IsDirectory(_) => Errno::EISDIR,
        FsError::DirectoryNotEmpty(_) => Errno::ENOTEMPTY,
        FsError::PermissionDenied(_) => Errno::EACCES,
        FsError::NameTooLong(_) => Errno::ENAMETOOLONG,
        FsError::InvalidPath { .. } | FsError::InvalidArgument(_) => Errno::EINVAL,
        FsError::NotSupported(_) => Errno::from_i32(libc::ENOTSUP),
        FsError::NoSpace(_) => Errno::ENOSPC,
        FsError::FailedPrecondition(_) => Errno::EBUSY,
        FsError::NotLeader { .. }
        | FsError::Unavailable(_)
        | FsError::DataUnavailable(_)
        | FsError::Ufs(_)
        | FsError::Corrupt(_)
        | FsError::Internal(_) => Errno::EIO,
    }
}

/// The errno of a local I/O error (the staging directory).
pub fn io_errno(err: &std::io::Error) -> Errno {
    Errno::from_i32(err.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_posix_errnos() {
        let cases = [
            (FsError::NotFound("p".into()), libc::ENOENT),
            (FsError::AlreadyExists("p".into()), libc::EEXIST),
            (FsError::NotDirectory("p".into()), libc::ENOTDIR),
            (FsError::IsDirectory("p".into()), libc::EISDIR),
            (FsError::DirectoryNotEmpty("p".into()), libc::ENOTEMPTY),
            (FsError::PermissionDenied("p".into()), libc::EACCES),
            (FsError::NameTooLong("p".into()), libc::ENAMETOOLONG),
            (FsError::InvalidArgument("p".into()), libc::EINVAL),
            (FsError::NotSupported("p".into()), libc::ENOTSUP),
            (FsError::NoSpace("p".into()), libc::ENOSPC),
            (FsError::FailedPrecondition("p".into()), libc::EBUSY),
            (FsError::Unavailable("p".into()), libc::EIO),
        ];
        for (err, code) in cases {
            assert_eq!(errno(&err).code(), code, "{err}");
        }
    }
}
