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
