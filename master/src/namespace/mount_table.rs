//! The mount table: which UFS root backs each Alluxio path. The longest
//! mounted prefix of a path decides where its bytes live in the UFS.

use std::collections::BTreeMap;

use alluxio_common::{AlluxioPath, FsError, FsResult};
use alluxio_proto::UfsLocation;

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPoint {
    pub alluxio_path: AlluxioPath,
    pub ufs_uri: String,
    pub options: BTreeMap<String, String>,
}

/// All mounts, keyed by Alluxio path.
#[derive(Debug, Clone, Default)]
pub struct MountTable {
    mounts: BTreeMap<AlluxioPath, MountPoint>,
}

impl MountTable {
    /// Adds a mount (replay of `AddMount`).
    pub fn add(&mut self, mount: MountPoint) {
        self.mounts.insert(mount.alluxio_path.clone(), mount);
    }

    /// Removes a mount (replay of `DeleteMount`).
    pub fn remove(&mut self, path: &AlluxioPath) -> Option<MountPoint> {
        self.mounts.remove(path)
    }

    /// The mount at exactly `path`.
    pub fn get(&self, path: &AlluxioPath) -> Option<&MountPoint> {
        self.mounts.get(path)
    }

    /// Every mount, in path order.
    pub fn iter(&self) -> impl Iterator<Item = &MountPoint> {
        self.mounts.values()
    }

    /// The mount that backs `path` (its longest mounted prefix).
    pub fn resolve(&self, path: &AlluxioPath) -> FsResult<&MountPoint> {
        self.mounts
            .values()
            .filter(|m| path.starts_with(&m.alluxio_path))
            .max_by_key(|m| m.alluxio_path.components().len())
            .ok_or_else(|| {
                FsError::Internal(format!("no mount covers {path} (is the root mounted?)"))
            })
    }

    /// Where `path` lives in the UFS.
    pub fn ufs_location(&self, path: &AlluxioPath) -> FsResult<UfsLocation> {
        let m = self.resolve(path)?;
        Ok(UfsLocation {
            root_uri: m.ufs_uri.clone(),
            path: path.strip_prefix(&m.alluxio_path).unwrap_or_default(),
            options: m.options.clone().into_iter().collect(),
        })
    }

    /// Whether a mount lies strictly below `path`.
    pub fn has_mount_below(&self, path: &AlluxioPath) -> bool {
        self.mounts.keys().any(|m| m != path && m.starts_with(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> AlluxioPath {
        AlluxioPath::parse(s).unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = MountTable::default();
        for (a, u) in [("/", "/ufs"), ("/mnt/s3", "s3://b/x")] {
            t.add(MountPoint {
                alluxio_path: p(a),
                ufs_uri: u.into(),
                options: BTreeMap::new(),
            });
        }
        let l = t.ufs_location(&p("/mnt/s3/a/b")).unwrap();
        assert_eq!((l.root_uri.as_str(), l.path.as_str()), ("s3://b/x", "a/b"));
        let l = t.ufs_location(&p("/mnt/other")).unwrap();
        assert_eq!(
            (l.root_uri.as_str(), l.path.as_str()),
            ("/ufs", "mnt/other")
        );
        assert!(t.has_mount_below(&p("/mnt")));
        assert!(!t.has_mount_below(&p("/mnt/s3")));
    }
}
