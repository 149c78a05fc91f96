//! The error kinds of the file-system API and their one wire encoding.
//!
//! Every RPC error travels as a `tonic::Status` whose code is the nearest gRPC
//! code and whose `x-alluxio-error` metadata names the exact kind, so the
//! receiving side rebuilds the same `FsError` (and the FUSE daemon can map it
//! to one errno). This file is the only place that converts in either
//! direction.

use tonic::{Code, Status};

/// Result alias for file-system operations.
pub type FsResult<T> = Result<T, FsError>;

/// Errors a file-system operation can return to its caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("path does not exist: {0}")]
    NotFound(String),
    #[error("path already exists: {0}")]
    AlreadyExists(String),
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("not a directory: {0}")]
    NotDirectory(String),
    #[error("is a directory: {0}")]
    IsDirectory(String),
    #[error("directory is not empty: {0}")]
    DirectoryNotEmpty(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("file name too long: {0}")]
    NameTooLong(String),
    #[error("operation not supported: {0}")]
    NotSupported(String),
    #[error("precondition failed: {0}")]
    FailedPrecondition(String),
    #[error("no space left: {0}")]
    NoSpace(String),
    #[error("not the leading master{}", leader.as_deref().map(|l| format!(" (leader: {l})")).unwrap_or_default())]
    NotLeader { leader: Option<String> },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("data unavailable: {0}")]
    DataUnavailable(String),
    #[error("under file system error: {0}")]
    Ufs(String),
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("internal error: {0}")]
    Internal(String),
}

const KIND_KEY: &str = "x-alluxio-error";
const LEADER_KEY: &str = "x-alluxio-leader";

/// Whether a local I/O error means the disk (or the caller's quota) is full:
/// such errors are `NoSpace` (ENOSPC through the mount), not EIO.
pub fn is_no_space(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

impl FsError {
    /// The stable name of the kind, as carried on the wire.
    pub fn kind_name(&self) -> &'static str {
        match self {
            FsError::NotFound(_) => "NotFound",
            FsError::AlreadyExists(_) => "AlreadyExists",
            FsError::InvalidPath { .. } => "InvalidPath",
            FsError::InvalidArgument(_) => "InvalidArgument",
            FsError::NotDirectory(_) => "NotDirectory",
            FsError::IsDirectory(_) => "IsDirectory",
            FsError::DirectoryNotEmpty(_) => "DirectoryNotEmpty",
            FsError::PermissionDenied(_) => "PermissionDenied",
            FsError::NameTooLong(_) => "NameTooLong",
            FsError::NotSupported(_) => "NotSupported",
            FsError::FailedPrecondition(_) => "FailedPrecondition",
            FsError::NoSpace(_) => "NoSpace",
            FsError::NotLeader { .. } => "NotLeader",
            FsError::Unavailable(_) => "Unavailable",
            FsError::DataUnavailable(_) => "DataUnavailable",
            FsError::Ufs(_) => "Ufs",
            FsError::Corrupt(_) => "Corrupt",
            FsError::Internal(_) => "Internal",
        }
    }

    /// Whether a client should retry the operation (possibly elsewhere).
    pub fn is_retryable(&self) -> bool {
        matches!(self, FsError::NotLeader { .. } | FsError::Unavailable(_))
    }

    fn code(&self) -> Code {
        match self {
            FsError::NotFound(_) => Code::NotFound,
            FsError::AlreadyExists(_) => Code::AlreadyExists,
            FsError::InvalidPath { .. }
            | FsError::InvalidArgument(_)
            | FsError::NotDirectory(_)
            | FsError::IsDirectory(_)
            | FsError::NameTooLong(_) => Code::InvalidArgument,
            FsError::DirectoryNotEmpty(_) | FsError::FailedPrecondition(_) => {
                Code::FailedPrecondition
            }
            FsError::PermissionDenied(_) => Code::PermissionDenied,
            FsError::NotSupported(_) => Code::Unimplemented,
            FsError::NoSpace(_) => Code::ResourceExhausted,
            FsError::NotLeader { .. } | FsError::Unavailable(_) => Code::Unavailable,
            FsError::DataUnavailable(_) => Code::Unavailable,
            FsError::Corrupt(_) => Code::DataLoss,
            FsError::Ufs(_) | FsError::Internal(_) => Code::Internal,
        }
    }

    /// The human detail of the error without its kind prefix.
    fn detail(&self) -> String {
        match self {
            FsError::NotFound(s)
            | FsError::AlreadyExists(s)
            | FsError::InvalidArgument(s)
            | FsError::NotDirectory(s)
            | FsError::IsDirectory(s)
            | FsError::DirectoryNotEmpty(s)
            | FsError::PermissionDenied(s)
            | FsError::NameTooLong(s)
            | FsError::NotSupported(s)
            | FsError::FailedPrecondition(s)
            | FsError::NoSpace(s)
            | FsError::Unavailable(s)
            | FsError::DataUnavailable(s)
            | FsError::Ufs(s)
            | FsError::Corrupt(s)
            | FsError::Internal(s) => s.clone(),
            FsError::InvalidPath { path, reason } => format!("{path}\u{0}{reason}"),
            FsError::NotLeader { leader } => leader.clone().unwrap_or_default(),
        }
    }

    fn from_kind(kind: &str, detail: String, leader: Option<String>) -> Option<FsError> {
        Some(match kind {
            "NotFound" => FsError::NotFound(detail),
            "AlreadyExists" => FsError::AlreadyExists(detail),
            "InvalidPath" => {
                let (path, reason) = detail.split_once('\u{0}').unwrap_or((&detail, ""));
                FsError::InvalidPath {
                    path: path.to_string(),
                    reason: reason.to_string(),
                }
            }
            "InvalidArgument" => FsError::InvalidArgument(detail),
            "NotDirectory" => FsError::NotDirectory(detail),
            "IsDirectory" => FsError::IsDirectory(detail),
            "DirectoryNotEmpty" => FsError::DirectoryNotEmpty(detail),
            "PermissionDenied" => FsError::PermissionDenied(detail),
            "NameTooLong" => FsError::NameTooLong(detail),
            "NotSupported" => FsError::NotSupported(detail),
            "FailedPrecondition" => FsError::FailedPrecondition(detail),
            "NoSpace" => FsError::NoSpace(detail),
            "NotLeader" => FsError::NotLeader {
                leader: leader.filter(|l| !l.is_empty()),
            },
            "Unavailable" => FsError::Unavailable(detail),
            "DataUnavailable" => FsError::DataUnavailable(detail),
            "Ufs" => FsError::Ufs(detail),
            "Corrupt" => FsError::Corrupt(detail),
            "Internal" => FsError::Internal(detail),
            _ => return None,
        })
    }
}

impl From<FsError> for Status {
    fn from(err: FsError) -> Status {
        let mut status = Status::new(err.code(), err.detail());
        if let Ok(v) = err.kind_name().parse() {
            status.metadata_mut().insert(KIND_KEY, v);
        }
        if let FsError::NotLeader {
            leader: Some(leader),
        } = &err
        {
            if let Ok(v) = leader.parse() {
                status.metadata_mut().insert(LEADER_KEY, v);
            }
        }
        status
    }
}

impl From<Status> for FsError {
    fn from(status: Status) -> FsError {
        let kind = status
            .metadata()
            .get(KIND_KEY)
            .and_then(|v| v.to_str().ok());
        let leader = status
            .metadata()
            .get(LEADER_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Some(err) =
            kind.and_then(|k| FsError::from_kind(k, status.message().to_string(), leader))
        {
            return err;
        }
        // No kind: the status came from the transport or a foreign server.
        let msg = status.message().to_string();
        match status.code() {
            Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Aborted => {
                FsError::Unavailable(msg)
            }
            Code::Unknown if msg.contains("transport") || msg.contains("connect") => {
                FsError::Unavailable(msg)
            }
            Code::NotFound => FsError::NotFound(msg),
            Code::AlreadyExists => FsError::AlreadyExists(msg),
            Code::InvalidArgument => FsError::InvalidArgument(msg),
            Code::PermissionDenied | Code::Unauthenticated => FsError::PermissionDenied(msg),
            Code::Unimplemented => FsError::NotSupported(msg),
            Code::ResourceExhausted => FsError::NoSpace(msg),
            Code::FailedPrecondition => FsError::FailedPrecondition(msg),
            Code::DataLoss => FsError::Corrupt(msg),
            _ => FsError::Internal(format!("{:?}: {msg}", status.code())),
        }
    }
}

impl From<tonic::transport::Error> for FsError {
    fn from(err: tonic::transport::Error) -> FsError {
        FsError::Unavailable(format!("connection failed: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_status() {
        let all = vec![
            FsError::NotFound("/a".into()),
            FsError::AlreadyExists("/a".into()),
            FsError::InvalidPath {
                path: "a".into(),
                reason: "relative".into(),
            },
            FsError::InvalidArgument("x".into()),
            FsError::NotDirectory("/a".into()),
            FsError::IsDirectory("/a".into()),
            FsError::DirectoryNotEmpty("/a".into()),
            FsError::PermissionDenied("/a".into()),
            FsError::NameTooLong("/a".into()),
            FsError::NotSupported("x".into()),
            FsError::FailedPrecondition("x".into()),
            FsError::NoSpace("x".into()),
            FsError::NotLeader {
                leader: Some("h:1".into()),
            },
            FsError::NotLeader { leader: None },
            FsError::Unavailable("x".into()),
            FsError::DataUnavailable("x".into()),
            FsError::Ufs("x".into()),
            FsError::Corrupt("x".into()),
            FsError::Internal("x".into()),
        ];
        for err in all {
            let back = FsError::from(Status::from(err.clone()));
            assert_eq!(back, err);
        }
    }

    #[test]
    fn foreign_unavailable_is_retryable() {
        let err = FsError::from(Status::unavailable("connection refused"));
        assert!(err.is_retryable());
    }
}
