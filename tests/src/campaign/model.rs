//! What one client's directory must hold: its entries by name, changed by
//! each acknowledged operation; and the operations a client draws.

use std::collections::{BTreeMap, BTreeSet};

use crate::test_bytes;
use alluxio_common::seeded::Rng;

/// One entry of a client's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File { data: Vec<u8>, mode: u32 },
    Dir { mode: u32 },
}

/// A directory's entries by name.
pub type State = BTreeMap<String, Node>;

/// One operation, on names of the client's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Creates the file, or replaces its bytes.
    Write {
        name: String,
        seed: u64,
        len: usize,
    },
    /// Appends to an existing file (FUSE clients only).
    Append {
        name: String,
        seed: u64,
        len: usize,
    },
    Rename {
        from: String,
        to: String,
    },
    Delete {
        name: String,
    },
    Mkdir {
        name: String,
    },
    Chmod {
        name: String,
        mode: u32,
    },
    Read {
        name: String,
    },
}

/// The names a client uses (few, so that operations meet each other).
pub const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// Modes of new entries (the default of the library and, under umask 022,
/// of FUSE).
pub const FILE_MODE: u32 = 0o644;
pub const DIR_MODE: u32 = 0o755;

impl Op {
    /// The names the operation may change or reads.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Op::Write { name, .. }
            | Op::Append { name, .. }
            | Op::Delete { name }
            | Op::Mkdir { name }
            | Op::Chmod { name, .. }
            | Op::Read { name } => vec![name],
            Op::Rename { from, to } => vec![from, to],
        }
    }

    /// Whether the operation changes nothing.
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Read { .. })
    }

    /// The state after the operation succeeded on `state`. A replacing
    /// write keeps the file's mode when `keeps_inode` (FUSE's O_TRUNC), and
    /// gives the default mode otherwise (the library's overwrite creates a
    /// new file).
    pub fn apply(&self, state: &State, keeps_inode: bool) -> State {
        let mut s = state.clone();
        match self {
            Op::Write { name, seed, len } => {
                let mode = match s.get(name) {
                    Some(Node::File { mode, .. }) if keeps_inode => *mode,
                    _ => FILE_MODE,
                };
                s.insert(
                    name.clone(),
                    Node::File {
                        data: test_bytes(*seed, *len),
                        mode,
                    },
                );
            }
            Op::Append { name, seed, len } => {
                if let Some(Node::File { data, .. }) = s.get_mut(name) {
                    data.extend(test_bytes(*seed, *len));
                }
            }
            Op::Rename { from, to } => {
                if let Some(node) = s.remove(from) {
                    s.insert(to.clone(), node);
                }
            }
            Op::Delete { name } => {
                s.remove(name);
            }
            Op::Mkdir { name } => {
                s.insert(name.clone(), Node::Dir { mode: DIR_MODE });
            }
            Op::Chmod { name, mode: m } => match s.get_mut(name) {
                Some(Node::File { mode, .. }) | Some(Node::Dir { mode }) => *mode = *m,
                None => {}
            },
            Op::Read { .. } => {}
        }
        s
    }
}

/// Draws an operation that must succeed on `state`, on names not in
/// `frozen` (names whose state is uncertain). `None` when no name is free.
pub fn draw(rng: &mut Rng, state: &State, frozen: &BTreeSet<String>, appends: bool) -> Option<Op> {
    let free: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|n| !frozen.contains(*n))
        .collect();
    if free.is_empty() {
        return None;
    }
    for _ in 0..20 {
        let name = rng.pick(&free).to_string();
        let node = state.get(&name);
        let is_file = matches!(node, Some(Node::File { .. }));
        let op = match rng.below(100) {
            0..=29 if node.is_none() || is_file => Op::Write {
                name,
                seed: rng.next_u64(),
                len: if rng.chance(10) {
                    rng.between(100_000, 2_500_000) as usize
                } else {
                    rng.below(20_000) as usize
                },
            },
            30..=37 if appends && is_file => Op::Append {
                name,
                seed: rng.next_u64(),
                len: rng.between(1, 10_000) as usize,
            },
            38..=54 if node.is_some() => {
                let to = rng.pick(&free).to_string();
                let fits = match (node, state.get(&to)) {
                    _ if to == name => false,
                    (_, None) => true,
                    (Some(Node::File { .. }), Some(Node::File { .. })) => true,
                    (Some(Node::Dir { .. }), Some(Node::Dir { .. })) => true,
                    _ => false,
                };
                if !fits {
                    continue;
                }
                Op::Rename { from: name, to }
            }
            55..=66 if node.is_some() => Op::Delete { name },
            67..=72 if node.is_none() => Op::Mkdir { name },
            73..=79 if node.is_some() => Op::Chmod {
                name,
                mode: *rng.pick(&[0o600, 0o640, 0o644, 0o700, 0o755]),
            },
            80..=99 if is_file => Op::Read { name },
            _ => continue,
        };
        return Some(op);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_operations_fit_the_state_they_were_drawn_for() {
        let mut rng = Rng::new(3);
        let mut state = State::new();
        let frozen = BTreeSet::from(["f".to_string()]);
        for _ in 0..2000 {
            let Some(op) = draw(&mut rng, &state, &frozen, true) else {
                continue;
            };
            assert!(!op.names().contains(&"f"), "{op:?} touches a frozen name");
            match &op {
                Op::Rename { from, to } => {
                    assert!(state.contains_key(from));
                    let kinds = (state.get(from), state.get(to));
                    assert!(
                        !matches!(
                            kinds,
                            (Some(Node::File { .. }), Some(Node::Dir { .. }))
                                | (Some(Node::Dir { .. }), Some(Node::File { .. }))
                        ),
                        "{op:?}"
                    );
                }
                Op::Mkdir { name } => assert!(!state.contains_key(name)),
                Op::Read { name } | Op::Append { name, .. } => {
                    assert!(matches!(state.get(name), Some(Node::File { .. })))
                }
                _ => {}
            }
            state = op.apply(&state, true);
        }
        assert!(!state.is_empty());
    }
}
