//! The client library: the file-system API every tool uses (CLI, FUSE,
//! tests). It finds the master, retries across restarts and failovers, and
//! streams block data to and from workers, falling back to the UFS when no
//! worker can serve a block.

mod block_map;
mod file_system;
mod in_stream;
mod local_block;
mod master_client;
mod options;
mod out_stream;
#[cfg(test)]
mod tests;
mod ufs_sink;
mod worker_pool;

pub use file_system::{
    CreateDirectoryOptions, CreateFileOptions, DeleteOptions, FileSystem, RenameOptions,
};
pub use in_stream::{FileInStream, LocalRead};
pub use options::{ClientOptions, ReadType};
pub use out_stream::FileOutStream;

pub use alluxio_common::leader::{DiscoveryConfig, MasterDiscovery};
pub use alluxio_common::{AlluxioPath, FsError, FsResult};
pub use alluxio_proto::{
    DeleteResponse, FileInfo, FileType, GetClusterInfoResponse, GetMasterInfoResponse,
    MountPointInfo, RenameResponse, WriteType,
};
