//! The client library: the file-system API every tool uses (CLI, FUSE,
//! tests). It finds the master, retries across restarts and failovers, and
//! streams block data to and from workers, falling back to the UFS when no
//! worker can serve a block.

mod block_map;
mod file_system;
mod in_stream;
mod local_block;
mod master_client;
mod out_stream;
mod settings;
#[cfg(test)]
mod tests;
mod ufs_sink;
mod worker_pool;

pub use file_system::{
    CreateDirectoryOptions, CreateFileOptions, CreateNodeOptions, DeleteOptions, FileSystem,
    NodeKind, RenameOptions, SetAttributeOptions,
};
pub use in_stream::{FileInStream, LocalRead};
pub use out_stream::FileOutStream;
pub use settings::{ClientSettings, ReadType};

pub use alluxio_common::leader::{DiscoverySettings, MasterDiscovery};
pub use alluxio_common::{AlluxioPath, FsError, FsResult};
pub use alluxio_proto::{
    DeleteResponse, FileInfo, FileType, GetClusterInfoResponse, GetMasterInfoResponse,
    MountPointInfo, RenameResponse, WriteType,
};
