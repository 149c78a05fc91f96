//! Under-file-system access: our own backend for local directories
//! ([`local`]), opendal for object stores.
//!
//! A UFS is named by a root URI (`/data/ufs`, `file:///data/ufs`,
//! `s3://bucket/prefix`) plus mount options. Everything above this module
//! speaks in paths relative to that root, so the master, worker and client use
//! one code path whatever the storage is.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use opendal::{ErrorKind, Operator};

use crate::error::{FsError, FsResult};

mod direct_file;
mod local;
mod long_path;

use local::LocalFs;
pub use local::LocalWriter;

/// The storage behind a UFS root URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UfsKind {
    /// A local (or NFS-mounted) directory.
    Local { root: String },
    /// An S3 bucket with a key prefix.
    S3 { bucket: String, prefix: String },
}

impl UfsKind {
    /// Parses a root URI or plain absolute path.
    pub fn parse(uri: &str) -> FsResult<UfsKind> {
        let bad = |reason: &str| FsError::InvalidArgument(format!("UFS URI {uri:?}: {reason}"));
        if uri.starts_with('/') {
            return Ok(UfsKind::Local {
                root: uri.to_string(),
            });
        }
        if let Some(rest) = uri.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(bad("file:// URIs need an absolute path (file:///dir)"));
            }
            return Ok(UfsKind::Local {
                root: rest.to_string(),
            });
        }
        if let Some(rest) = uri
            .strip_prefix("s3://")
            .or_else(|| uri.strip_prefix("s3a://"))
        {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("missing bucket name"));
            }
            return Ok(UfsKind::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        if uri.starts_with("hdfs://") {
            return Err(FsError::NotSupported(format!(
                "UFS URI {uri:?}: HDFS is not built into this release"
            )));
        }
        Err(bad(
            "expected an absolute path, file:///path or s3://bucket/prefix",
        ))
    }
}

/// What the UFS knows about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UfsStatus {
    pub name: String,
    pub is_dir: bool,
    pub length: u64,
    pub mtime_ns: i64,
}

/// One opened UFS root.
#[derive(Debug, Clone)]
pub struct Ufs {
    backend: Backend,
    kind: UfsKind,
    uri: String,
    /// Longest an object-store request may take
    /// (`alluxio.underfs.s3.request.timeout`).
    request_timeout: Duration,
}

/// Property bounding each object-store request (Alluxio's name and default).
pub const S3_REQUEST_TIMEOUT: &str = "alluxio.underfs.s3.request.timeout";
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What carries out the operations of a [`Ufs`].
#[derive(Debug, Clone)]
enum Backend {
    Local(LocalFs),
    Opendal(Operator),
}

/// A file being written into a UFS; the bytes are durable once `close` returns.
pub enum UfsWriter {
    Opendal {
        writer: opendal::Writer,
        path: String,
    },
    Local(LocalWriter),
}

impl UfsWriter {
    /// Appends `data`.
    pub async fn write(&mut self, data: Bytes) -> FsResult<()> {
        match self {
            UfsWriter::Opendal { writer, path } => writer
                .write(data)
                .await
                .map_err(|e| ufs_err("write", path, e)),
            UfsWriter::Local(w) => w.write(data).await,
        }
    }

    /// Completes the file.
    pub async fn close(&mut self) -> FsResult<()> {
        crate::failpoint::delay("ufs_slow").await;
        match self {
            UfsWriter::Opendal { writer, path } => writer
                .close()
                .await
                .map(|_| ())
                .map_err(|e| ufs_err("close", path, e)),
            UfsWriter::Local(w) => w.close().await,
        }
    }

    /// Gives up on the file, removing what was written where the store can.
    pub async fn abort(&mut self) -> FsResult<()> {
        match self {
            UfsWriter::Opendal { writer, path } => {
                writer.abort().await.map_err(|e| ufs_err("abort", path, e))
            }
            UfsWriter::Local(w) => w.abort().await,
        }
    }
}

fn ufs_err(what: &str, path: &str, e: opendal::Error) -> FsError {
    match e.kind() {
        ErrorKind::NotFound => FsError::NotFound(path.to_string()),
        ErrorKind::AlreadyExists | ErrorKind::ConditionNotMatch => {
            FsError::AlreadyExists(path.to_string())
        }
        ErrorKind::PermissionDenied => FsError::PermissionDenied(format!("UFS {what} {path}: {e}")),
        ErrorKind::Unsupported => FsError::NotSupported(format!("UFS {what} {path}: {e}")),
        _ => FsError::Ufs(format!("{what} {path}: {e}")),
    }
}

fn dir_path(path: &str) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        format!("{}/", path.trim_end_matches('/'))
    }
}

impl Ufs {
    /// Opens the UFS at `uri` with mount `options` (credentials, endpoint, region).
    pub fn open(uri: &str, options: &BTreeMap<String, String>) -> FsResult<Ufs> {
        let kind = UfsKind::parse(uri)?;
        let backend = match &kind {
            UfsKind::Local { root } => Backend::Local(LocalFs::open(root)?),
            UfsKind::S3 { bucket, prefix } => {
                Backend::Opendal(open_s3(uri, bucket, prefix, options)?)
            }
        };
        let request_timeout = match options.get(S3_REQUEST_TIMEOUT) {
            None => DEFAULT_REQUEST_TIMEOUT,
            Some(v) => match crate::config::units::parse_duration(v) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => Duration::MAX,
                Err(e) => {
                    return Err(FsError::InvalidArgument(format!(
                        "{S3_REQUEST_TIMEOUT}={v:?}: {e}"
                    )))
                }
            },
        };
        Ok(Ufs {
            backend,
            kind,
            uri: uri.to_string(),
            request_timeout,
        })
    }

    /// Longest an object-store request may take before it fails (a store
    /// that stops answering must not stall its caller forever).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Object-store `request`, failed with `Unavailable` if the store has
    /// not answered within the request timeout.
    async fn timed<T>(
        &self,
        what: &str,
        path: &str,
        request: impl std::future::IntoFuture<Output = opendal::Result<T>>,
    ) -> FsResult<opendal::Result<T>> {
        tokio::time::timeout(self.request_timeout, request)
            .await
            .map_err(|_| {
                FsError::Unavailable(format!(
                    "UFS {what} {path}: no answer from {} within {:?}",
                    self.uri, self.request_timeout
                ))
            })
    }

    /// The root URI this UFS was opened with.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The underlying opendal operator, for callers that need raw object
    /// access; `None` for a local directory, which opendal does not serve.
    pub fn operator(&self) -> Option<&Operator> {
        match &self.backend {
            Backend::Opendal(op) => Some(op),
            Backend::Local(_) => None,
        }
    }

    /// The storage kind.
    pub fn kind(&self) -> &UfsKind {
        &self.kind
    }

    /// Whether the store renames atomically (so writers can stage under a temp name).
    pub fn supports_rename(&self) -> bool {
        matches!(self.kind, UfsKind::Local { .. })
    }

    /// Makes the name of `path` durable in its parent directory, for a
    /// step found already made by an earlier try whose fsync may have
    /// failed (a local directory's parent is fsynced; an object store has
    /// nothing to do).
    pub async fn sync_parent(&self, path: &str) -> FsResult<()> {
        crate::failpoint::delay("ufs_slow").await;
        match &self.backend {
            Backend::Local(fs) => fs.sync_parent(path).await,
            Backend::Opendal(_) => Ok(()),
        }
    }

    /// Stats `path`; `Ok(None)` when it does not exist.
    pub async fn stat(&self, path: &str) -> FsResult<Option<UfsStatus>> {
        crate::failpoint::delay("ufs_slow").await;
        let op = match &self.backend {
            Backend::Local(fs) => return fs.stat(path).await,
            Backend::Opendal(op) => op,
        };
        let name = path.rsplit('/').next().unwrap_or("").to_string();
        let meta = match self
            .timed(
                "stat",
                path,
                op.stat(if path.is_empty() { "/" } else { path }),
            )
            .await?
        {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // Object stores only know directories by the trailing slash.
                if matches!(self.kind, UfsKind::S3 { .. }) {
                    match self.timed("stat", path, op.stat(&dir_path(path))).await? {
                        Ok(_) => {
                            return Ok(Some(UfsStatus {
                                name,
                                is_dir: true,
                                length: 0,
                                mtime_ns: 0,
                            }))
                        }
                        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                        Err(e) => return Err(ufs_err("stat", path, e)),
                    }
                }
                return Ok(None);
            }
            Err(e) => return Err(ufs_err("stat", path, e)),
        };
        Ok(Some(UfsStatus {
            name,
            is_dir: meta.is_dir(),
            length: if meta.is_dir() {
                0
            } else {
                meta.content_length()
            },
            mtime_ns: meta
                .last_modified()
                .map(|t| t.into_inner().as_nanosecond() as i64)
                .unwrap_or(0),
        }))
    }

    /// Lists the direct children of directory `path`.
    pub async fn list(&self, path: &str) -> FsResult<Vec<UfsStatus>> {
        crate::failpoint::delay("ufs_slow").await;
        let op = match &self.backend {
            Backend::Local(fs) => return fs.list(path).await,
            Backend::Opendal(op) => op,
        };
        let dir = dir_path(path);
        let entries = match self.timed("list", path, op.list(&dir)).await? {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ufs_err("list", path, e)),
        };
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let full = entry.path().trim_end_matches('/');
            let name = full.rsplit('/').next().unwrap_or("");
            if name.is_empty() || dir.trim_matches('/') == full.trim_start_matches('/') {
                continue;
            }
            let is_dir = entry.metadata().is_dir();
            let child = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}/{name}")
            };
            let status = if is_dir {
                UfsStatus {
                    name: name.to_string(),
                    is_dir,
                    length: 0,
                    mtime_ns: 0,
                }
            } else {
                match self.stat(&child).await? {
                    Some(s) => s,
                    None => continue,
                }
            };
            out.push(status);
        }
        Ok(out)
    }

    /// Reads `length` bytes at `offset` of file `path`.
    pub async fn read_range(&self, path: &str, offset: u64, length: u64) -> FsResult<Bytes> {
        crate::failpoint::delay("ufs_slow").await;
        let op = match &self.backend {
            Backend::Local(fs) => return fs.read_range(path, offset, length).await,
            Backend::Opendal(op) => op,
        };
        if length == 0 {
            return Ok(Bytes::new());
        }
        let buf = self
            .timed(
                "read",
                path,
                op.read_with(path).range(offset..offset + length),
            )
            .await?
            .map_err(|e| ufs_err("read", path, e))?;
        Ok(buf.to_bytes())
    }

    /// Opens a writer that creates or replaces `path`; bytes are durable after `close`.
    pub async fn writer(&self, path: &str) -> FsResult<UfsWriter> {
        crate::failpoint::delay("ufs_slow").await;
        let op = match &self.backend {
            Backend::Local(fs) => return fs.writer(path).await.map(UfsWriter::Local),
            Backend::Opendal(op) => op,
        };
        let writer = self
            .timed("write", path, op.writer(path))
            .await?
            .map_err(|e| ufs_err("write", path, e))?;
        Ok(UfsWriter::Opendal {
            writer,
            path: path.to_string(),
        })
    }

    /// Writes a whole small object.
    pub async fn write_all(&self, path: &str, data: Bytes) -> FsResult<()> {
        crate::failpoint::delay("ufs_slow").await;
        let op = match &self.backend {
            Backend::Local(fs) => return fs.write_all(path, data).await,
            Backend::Opendal(op) => op,
        };
        self.timed("write", path, op.write(path, data))
            .await?
            .map(|_| ())
            .map_err(|e| ufs_err("write", path, e))
    }

    /// Creates directory `path` and its parents.
    pub async fn create_dir(&self, path: &str) -> FsResult<()> {
        crate::failpoint::delay("ufs_slow").await;
        if path.is_empty() {
            return Ok(());
        }
        let op = match &self.backend {
            Backend::Local(fs) => return fs.create_dir(path).await,
            Backend::Opendal(op) => op,
        };
        self.timed("mkdir", path, op.create_dir(&dir_path(path)))
            .await?
            .map_err(|e| ufs_err("mkdir", path, e))
    }

    /// Deletes file `path`; a missing file is not an error.
    pub async fn delete_file(&self, path: &str) -> FsResult<()> {
        crate::failpoint::delay("ufs_slow").await;
        let op = match &self.backend {
            Backend::Local(fs) => return fs.delete_file(path).await,
            Backend::Opendal(op) => op,
        };
        match self.timed("delete", path, op.delete(path)).await? {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ufs_err("delete", path, e)),
        }
    }

    /// Deletes directory `path` and everything below it.
    pub async fn delete_dir_all(&self, path: &str) -> FsResult<()> {
        crate::failpoint::delay("ufs_slow").await;
        if path.is_empty() {
            return Err(FsError::InvalidArgument(
                "refusing to delete a UFS root".into(),
            ));
        }
        let op = match &self.backend {
            Backend::Local(fs) => return fs.delete_dir_all(path).await,
            Backend::Opendal(op) => op,
        };
        match self
            .timed(
                "delete",
                path,
                op.delete_with(&dir_path(path)).recursive(true),
            )
            .await?
        {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ufs_err("delete", path, e)),
        }
    }

    /// Renames `from` to `to`, replacing a file at `to`. Object stores copy and delete.
    pub async fn rename(&self, from: &str, to: &str) -> FsResult<()> {
        crate::failpoint::delay("ufs_slow").await;
        let op = match &self.backend {
            Backend::Local(fs) => return fs.rename(from, to).await,
            Backend::Opendal(op) => op,
        };
        let meta = self
            .stat(from)
            .await?
            .ok_or_else(|| FsError::NotFound(from.to_string()))?;
        if meta.is_dir {
            return Err(FsError::NotSupported(format!(
                "renaming directory {from} on an object store"
            )));
        }
        self.timed("copy", from, op.copy(from, to))
            .await?
            .map_err(|e| ufs_err("copy", from, e))?;
        self.delete_file(from).await
    }
}

#[cfg(feature = "s3")]
fn open_s3(
    uri: &str,
    bucket: &str,
    prefix: &str,
    options: &BTreeMap<String, String>,
) -> FsResult<Operator> {
    // The S3 service sends requests through opendal's process-wide HTTP transport.
    static HTTP: std::sync::Once = std::sync::Once::new();
    HTTP.call_once(opendal::install_default);
    let mut builder = opendal::services::S3::default()
        .bucket(bucket)
        .root(&format!("/{prefix}"));
    let opt = |keys: &[&str]| keys.iter().find_map(|k| options.get(*k).cloned());
    if let Some(v) = opt(&["s3a.accessKeyId", "aws.accessKeyId", "s3.access_key_id"]) {
        builder = builder.access_key_id(&v);
    }
    if let Some(v) = opt(&["s3a.secretKey", "aws.secretKey", "s3.secret_access_key"]) {
        builder = builder.secret_access_key(&v);
    }
    if let Some(v) = opt(&["alluxio.underfs.s3.endpoint", "s3.endpoint"]) {
        builder = builder.endpoint(&v);
    }
    let region = opt(&["alluxio.underfs.s3.region", "s3.region"]).unwrap_or("us-east-1".into());
    builder = builder.region(&region);
    Operator::new(builder).map_err(|e| FsError::Ufs(format!("opening {uri}: {e}")))
}

#[cfg(not(feature = "s3"))]
fn open_s3(
    uri: &str,
    _bucket: &str,
    _prefix: &str,
    _options: &BTreeMap<String, String>,
) -> FsResult<Operator> {
    Err(FsError::NotSupported(format!(
        "UFS URI {uri:?}: this build has no S3 support"
    )))
}

/// A UFS root URI with its mount options.
type UfsKey = (String, BTreeMap<String, String>);

/// Opened UFS roots shared by a process, keyed by URI and options.
#[derive(Default)]
pub struct UfsCache {
    map: Mutex<HashMap<UfsKey, Arc<Ufs>>>,
}

impl UfsCache {
    /// Returns the cached UFS for `uri` and `options`, opening it on first use.
    pub fn get(&self, uri: &str, options: &BTreeMap<String, String>) -> FsResult<Arc<Ufs>> {
        let key = (uri.to_string(), options.clone());
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ufs) = map.get(&key) {
            return Ok(ufs.clone());
        }
        let ufs = Arc::new(Ufs::open(uri, options)?);
        map.insert(key, ufs.clone());
        Ok(ufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris() {
        assert_eq!(
            UfsKind::parse("/d").unwrap(),
            UfsKind::Local { root: "/d".into() }
        );
        assert_eq!(
            UfsKind::parse("file:///d").unwrap(),
            UfsKind::Local { root: "/d".into() }
        );
        assert_eq!(
            UfsKind::parse("s3://b/p/q").unwrap(),
            UfsKind::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            }
        );
        assert!(UfsKind::parse("relative").is_err());
        assert!(UfsKind::parse("file://rel").is_err());
        assert!(matches!(
            UfsKind::parse("hdfs://nn:8020/x"),
            Err(FsError::NotSupported(_))
        ));
    }

    #[tokio::test]
    async fn local_round_trip() {
        let dir = std::env::temp_dir().join(format!("ufs-test-{}", std::process::id()));
        let ufs = Ufs::open(dir.to_str().unwrap(), &BTreeMap::new()).unwrap();
        ufs.create_dir("a/b").await.unwrap();
        ufs.write_all("a/f", Bytes::from_static(b"hello world"))
            .await
            .unwrap();
        assert_eq!(
            ufs.read_range("a/f", 6, 5).await.unwrap(),
            Bytes::from_static(b"world")
        );
        let st = ufs.stat("a/f").await.unwrap().unwrap();
        assert_eq!((st.is_dir, st.length), (false, 11));
        assert!(ufs.stat("a").await.unwrap().unwrap().is_dir);
        assert!(ufs.stat("missing").await.unwrap().is_none());
        let mut names: Vec<_> = ufs
            .list("a")
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        assert_eq!(names, vec!["b", "f"]);
        ufs.rename("a/f", "a/g").await.unwrap();
        assert!(ufs.stat("a/f").await.unwrap().is_none());
        ufs.delete_dir_all("a").await.unwrap();
        assert!(ufs.stat("a").await.unwrap().is_none());
        std::fs::remove_dir_all(&dir).ok();
    }
}
