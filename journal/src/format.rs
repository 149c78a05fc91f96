//! The format marker: `FORMAT` in the journal folder names the layout version
//! and the cluster id. `alluxio format` writes it; a master refuses to start
//! on a folder without it or with a version it cannot read.

use bytes::Bytes;

use super::error::JournalError;
use super::store::{JournalStore, Publish};

/// Name of the marker object.
pub const FORMAT_FILE: &str = "FORMAT";
/// The layout this code writes: 2 since local folders hold appended
/// segments and term claims (a reader of 1 would misread a segment's void
/// tail). Version 1 folders (one batch per object) are read as they are.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest layout this code reads.
pub const OLDEST_READABLE: u32 = 1;
const MAGIC: &str = "alluxio-rs-journal";

/// Contents of a valid marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatInfo {
    pub version: u32,
    pub cluster_id: String,
}

/// Wipes the folder and writes a fresh marker with a new cluster id.
pub async fn format(store: &JournalStore) -> Result<FormatInfo, JournalError> {
    store.wipe().await?;
    let cluster_id = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let text = format!("{MAGIC}\nversion={FORMAT_VERSION}\ncluster_id={cluster_id}\n");
    match store.publish(FORMAT_FILE, Bytes::from(text)).await? {
        Publish::Published => Ok(FormatInfo {
            version: FORMAT_VERSION,
            cluster_id,
        }),
        Publish::Taken => Err(JournalError::io(
            store.describe(),
            "another process formatted the journal at the same time",
        )),
    }
}

/// Reads and checks the marker.
pub async fn check(store: &JournalStore) -> Result<FormatInfo, JournalError> {
    let folder = store.describe();
    let data = store
        .read(FORMAT_FILE)
        .await?
        .ok_or_else(|| JournalError::NotFormatted {
            folder: folder.clone(),
        })?;
    let text = String::from_utf8_lossy(&data).to_string();
    let wrong = |found: &str| JournalError::WrongFormat {
        folder: folder.clone(),
        found: found.to_string(),
        supported: FORMAT_VERSION,
    };
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(wrong(text.lines().next().unwrap_or("")));
    }
    let mut version = None;
    let mut cluster_id = String::new();
    for line in lines {
        match line.split_once('=') {
            Some(("version", v)) => version = v.trim().parse::<u32>().ok(),
            Some(("cluster_id", v)) => cluster_id = v.trim().to_string(),
            _ => {}
        }
    }
    match version {
        Some(v) if (OLDEST_READABLE..=FORMAT_VERSION).contains(&v) => Ok(FormatInfo {
            version: v,
            cluster_id,
        }),
        Some(v) => Err(wrong(&format!("version {v}"))),
        None => Err(wrong("no version line")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn format_then_check() {
        let dir = tempfile::tempdir().unwrap();
        let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
        assert!(matches!(
            check(&store).await,
            Err(JournalError::NotFormatted { .. })
        ));
        let info = format(&store).await.unwrap();
        assert_eq!(check(&store).await.unwrap(), info);
        std::fs::write(
            dir.path().join(FORMAT_FILE),
            "alluxio-rs-journal\nversion=9\n",
        )
        .unwrap();
        let err = check(&store).await.unwrap_err().to_string();
        assert!(
            err.contains("version 9") && err.contains("reads formats 1 to 2"),
            "{err}"
        );
    }
}
