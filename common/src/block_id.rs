//! Block ids are derived, not allocated: `container_id << 24 | index`. A file
//! gets a fresh container id from the master when it is created, so a writer
//! can name every block it writes without asking the master per block.

/// Number of low bits holding the block index inside a container.
pub const INDEX_BITS: u32 = 24;

/// Maximum number of blocks a single file can have.
pub const MAX_BLOCKS_PER_FILE: u64 = 1 << INDEX_BITS;

/// Returns the id of block `index` of the file with `container_id`.
pub fn block_id(container_id: u64, index: u64) -> u64 {
    debug_assert!(index < MAX_BLOCKS_PER_FILE);
    (container_id << INDEX_BITS) | index
}

/// Returns the container id a block belongs to.
pub fn container_of(block_id: u64) -> u64 {
    block_id >> INDEX_BITS
}

/// Returns the index of a block inside its file.
pub fn index_of(block_id: u64) -> u64 {
    block_id & (MAX_BLOCKS_PER_FILE - 1)
}

/// The longest file whose blocks of `block_size` bytes all have ids of
/// their own: one more block would spill into the next container's ids.
pub fn max_length(block_size: u64) -> u64 {
    block_size.saturating_mul(MAX_BLOCKS_PER_FILE)
}

/// Returns the number of blocks a file of `length` bytes has.
pub fn block_count(length: u64, block_size: u64) -> u64 {
    if block_size == 0 {
        return 0;
    }
    length.div_ceil(block_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = block_id(12345, 7);
        assert_eq!(container_of(id), 12345);
        assert_eq!(index_of(id), 7);
        assert_eq!(block_count(0, 64), 0);
        assert_eq!(block_count(64, 64), 1);
        assert_eq!(block_count(65, 64), 2);
        assert_eq!(max_length(1024), 1024 << 24);
        assert_eq!(block_count(max_length(1024), 1024), MAX_BLOCKS_PER_FILE);
        assert_eq!(max_length(u64::MAX), u64::MAX);
    }
}
