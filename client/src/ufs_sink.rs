//! The UFS copy of a file being written, fed in the background: the writer
//! hands each piece to a task that owns the UFS writer, so writing the UFS
//! copy overlaps sending the same bytes to a worker instead of following it.
//! A bounded queue keeps memory in check; the first UFS error is reported by
//! the next `write` or by `close`.

use alluxio_common::ufs::UfsWriter;
use alluxio_common::{FsError, FsResult};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Pieces queued ahead of the UFS writer.
const QUEUE: usize = 8;

type Ended = (UfsWriter, FsResult<()>);

/// A UFS writer driven by a background task.
pub(crate) struct UfsSink {
    tx: Option<mpsc::Sender<Bytes>>,
    /// The task until it is awaited (a `JoinHandle` can be awaited once)...
    task: Option<JoinHandle<Ended>>,
    /// ...and what it returned after that.
    ended: Option<Ended>,
}

impl UfsSink {
    pub(crate) fn start(mut writer: UfsWriter) -> UfsSink {
        let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
        let task = tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if let Err(e) = writer.write(data).await {
                    return (writer, Err(e));
                }
            }
            (writer, Ok(()))
        });
        UfsSink {
            tx: Some(tx),
            task: Some(task),
            ended: None,
        }
    }

    /// Stops feeding the task and waits for it.
    async fn join(&mut self) -> FsResult<&mut Ended> {
        self.tx = None;
        if let Some(task) = self.task.take() {
            let ended = task
                .await
                .map_err(|e| FsError::Internal(format!("UFS writer task: {e}")))?;
            self.ended = Some(ended);
        }
        self.ended
            .as_mut()
            .ok_or_else(|| FsError::Internal("UFS writer task lost".into()))
    }

    /// Queues `data`; fails with the UFS error if the writer already failed.
    pub(crate) async fn write(&mut self, data: Bytes) -> FsResult<()> {
        if let Some(tx) = &self.tx {
            if tx.send(data).await.is_ok() {
                return Ok(());
            }
        }
        match &self.join().await?.1 {
            Err(e) => Err(e.clone()),
            Ok(()) => Err(FsError::Internal("UFS writer already closed".into())),
        }
    }

    /// Waits for the queued bytes, then closes the writer: the bytes are
    /// durable when this returns `Ok`.
    pub(crate) async fn close(mut self) -> FsResult<()> {
        let (writer, result) = self.join().await?;
        if let Err(e) = result.clone() {
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.close().await
    }

    /// Drops the queued bytes' outcome and removes the partial copy.
    pub(crate) async fn abort(mut self) {
        if let Ok((writer, _)) = self.join().await {
            let _ = writer.abort().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alluxio_common::ufs::Ufs;

    fn ufs_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ufs-sink-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_in_order_and_closes() {
        let dir = ufs_dir("ok");
        let ufs = Ufs::open(dir.to_str().unwrap(), &Default::default()).unwrap();
        let mut sink = UfsSink::start(ufs.writer("f").await.unwrap());
        for i in 0..20u8 {
            sink.write(Bytes::from(vec![i; 1000])).await.unwrap();
        }
        sink.close().await.unwrap();
        let got = std::fs::read(dir.join("f")).unwrap();
        let want: Vec<u8> = (0..20u8).flat_map(|i| vec![i; 1000]).collect();
        assert_eq!(got, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_reported_by_write_and_close() {
        // Every write to /dev/full fails with ENOSPC.
        let dir = ufs_dir("full");
        std::os::unix::fs::symlink("/dev/full", dir.join("f")).unwrap();
        let ufs = Ufs::open(dir.to_str().unwrap(), &Default::default()).unwrap();
        let mut sink = UfsSink::start(ufs.writer("f").await.unwrap());
        let mut first_error = None;
        for _ in 0..(QUEUE + 4) {
            if let Err(e) = sink.write(Bytes::from(vec![7u8; 4096])).await {
                first_error = Some(e);
                break;
            }
        }
        let e = first_error.expect("writes to a full device kept succeeding");
        assert!(e.to_string().contains("No space left"), "{e}");
        // A second write and the close report it again (no panic).
        assert!(sink.write(Bytes::from_static(b"x")).await.is_err());
        let closed = sink.close().await.unwrap_err();
        assert!(closed.to_string().contains("No space left"), "{closed}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
