//! One POSIX operation on a path, in a process of its own, for the fault
//! campaign's FUSE client (`campaign/workload.rs`).
//!
//! Why a process: when a process that holds a descriptor of a FUSE file
//! forks, the child's exec closes its copy (close-on-exec), and the kernel
//! sends the daemon a FLUSH for it, which our daemon answers by committing
//! the file. If the test process itself held such descriptors, every
//! process it starts (`ip` to heal a partition, ZooKeeper to restart it)
//! would wait for that commit, which waits for the very partition the test
//! is trying to heal, until the daemon's retries give up (a minute, and an
//! EIO for the program): the harness would deadlock itself.
//!
//! Usage: `posix-op <op> <args>`; exits 0 on success (a read writes the
//! file's bytes to stdout), else prints `errno <n>` on stderr and exits 1.
//! Ops: `write <path> <seed> <len>`, `append <path> <seed> <len>`,
//! `rename <from> <to>`, `unlink <path>`, `rmdir <path>`, `mkdir <path>`,
//! `chmod <path> <octal mode>`, `read <path>`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

fn run(args: &[String]) -> std::io::Result<()> {
    let arg = |i: usize| -> std::io::Result<&str> {
        args.get(i).map(String::as_str).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "missing argument")
        })
    };
    let num = |i: usize| -> std::io::Result<u64> {
        arg(i)?
            .parse()
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a number"))
    };
    match arg(0)? {
        "write" => {
            // As a program that wants to know its bytes are kept: a close
            // error is lost when a `File` drops, an fsync error is not.
            let mut f = std::fs::File::create(arg(1)?)?;
            f.write_all(&alluxio_tests::test_bytes(num(2)?, num(3)? as usize))?;
            f.sync_all()
        }
        "append" => {
            let mut f = std::fs::OpenOptions::new().append(true).open(arg(1)?)?;
            f.write_all(&alluxio_tests::test_bytes(num(2)?, num(3)? as usize))?;
            f.sync_all()
        }
        "rename" => std::fs::rename(arg(1)?, arg(2)?),
        "unlink" => std::fs::remove_file(arg(1)?),
        "rmdir" => std::fs::remove_dir(arg(1)?),
        "mkdir" => std::fs::create_dir(arg(1)?),
        "chmod" => {
            let mode = u32::from_str_radix(arg(2)?, 8).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not an octal mode")
            })?;
            std::fs::set_permissions(arg(1)?, std::fs::Permissions::from_mode(mode))
        }
        "read" => {
            let data = std::fs::read(arg(1)?)?;
            std::io::stdout().write_all(&data)
        }
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("unknown op {other}"),
        )),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("errno {} ({e})", e.raw_os_error().unwrap_or(libc::EINVAL));
        std::process::exit(1);
    }
}
