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

/// A UFS writer driven by a background task.
pub(crate) struct UfsSink {
    tx: Option<mpsc::Sender<Bytes>>,
    task: JoinHandle<(UfsWriter, FsResult<()>)>,
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
        UfsSink { tx: Some(tx), task }
    }

    /// Queues `data`; fails with the UFS error if the writer already failed.
    pub(crate) async fn write(&mut self, data: Bytes) -> FsResult<()> {
        let Some(tx) = &self.tx else {
            return Err(FsError::Internal("UFS writer already closed".into()));
        };
        if tx.send(data).await.is_ok() {
            return Ok(());
        }
        self.tx = None;
        match (&mut self.task).await {
            Ok((_, Err(e))) => Err(e),
            Ok((_, Ok(()))) => Err(FsError::Internal("UFS writer stopped early".into())),
            Err(e) => Err(FsError::Internal(format!("UFS writer task: {e}"))),
        }
    }

    /// Waits for the queued bytes, then closes the writer: the bytes are
    /// durable when this returns `Ok`.
    pub(crate) async fn close(mut self) -> FsResult<()> {
        self.tx = None;
        let (mut writer, result) = self
            .task
            .await
            .map_err(|e| FsError::Internal(format!("UFS writer task: {e}")))?;
        if let Err(e) = result {
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.close().await
    }

    /// Drops the queued bytes' outcome and removes the partial copy.
    pub(crate) async fn abort(mut self) {
        self.tx = None;
        if let Ok((mut writer, _)) = self.task.await {
            let _ = writer.abort().await;
        }
    }
}
