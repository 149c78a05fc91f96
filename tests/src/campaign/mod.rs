//! A fault campaign (issue 18): from one seed, a schedule of faults is
//! drawn while several clients — library clients and a FUSE mount — run a
//! mixed workload, each in a directory of its own; every operation is
//! recorded with its outcome; afterwards, faults healed, a checker compares
//! what the clients were told with what the cluster holds. A failure names
//! the seed and the schedule, so a run can be replayed exactly.
//!
//! Each client is the only writer of its directory, so its model of that
//! directory is exact: an acknowledged operation changes the model, a
//! refused one does not, and one whose outcome is unknown (the client gave
//! up) leaves its names allowed in either state — before or after, never
//! anything else, never twice — and those names are not touched again.

pub mod check;
pub mod faults;
pub mod model;
pub mod workload;
