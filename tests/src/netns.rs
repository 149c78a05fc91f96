//! Network partitions between processes of one machine: every node (a
//! master, a worker, ZooKeeper, a FUSE daemon, the test's clients) lives in
//! a network namespace of its own, joined to the others through a bridge in
//! one more namespace; a link between two nodes is cut by a blackhole route
//! in each of them (packets vanish, as in a real partition) and healed by
//! deleting the routes. Addresses (10.200.<net>.<node>) exist only inside
//! the namespaces made here, which are deleted when the `Net` drops.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;

/// A set of namespaces joined by a bridge.
#[derive(Debug)]
pub struct Net {
    tag: String,
    subnet: u8,
    nodes: Vec<String>,
}

/// Runs `ip` with `args`, panicking with its output on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("running ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Net {
    /// Makes `names.len()` nodes, in order, numbered from 1.
    pub fn new(names: &[&str]) -> Net {
        // Unique per test process: namespaces are machine-wide.
        let pid = std::process::id();
        let net = Net {
            tag: format!("alx{pid}"),
            subnet: (pid % 250) as u8 + 1,
            nodes: names.iter().map(|n| n.to_string()).collect(),
        };
        let bridge = net.bridge_ns();
        ip(&["netns", "add", &bridge]);
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        for i in 0..names.len() {
            let ns = net.ns(i);
            let addr = format!("{}/24", net.addr(i));
            ip(&["netns", "add", &ns]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&[
                "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", "port", "netns",
                &bridge,
            ]);
            let port = format!("p{i}");
            ip(&["-n", &bridge, "link", "set", "port", "name", &port]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0"]);
            ip(&["-n", &bridge, "link", "set", &port, "up"]);
            ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        }
        net
    }

    fn bridge_ns(&self) -> String {
        format!("{}-br", self.tag)
    }

    fn ns(&self, i: usize) -> String {
        format!("{}-{}", self.tag, self.nodes[i])
    }

    /// The index of node `name`.
    pub fn node(&self, name: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Node `i`'s address.
    pub fn addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 200, self.subnet, i as u8 + 1)
    }

    /// Node `name`'s address, as a host name for configuration.
    pub fn host(&self, name: &str) -> String {
        self.addr(self.node(name)).to_string()
    }

    /// Makes `cmd` start inside node `name`'s namespace (only its network:
    /// mounts, such as a FUSE mount it makes, stay visible to everyone).
    pub fn place(&self, cmd: &mut Command, name: &str) {
        let path = format!("/run/netns/{}", self.ns(self.node(name)));
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: setns(2) is async-signal-safe; the descriptor stays open
        // in the closure, which lives as long as the command.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                if libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Moves the calling thread into node `name`'s namespace; threads it
    /// starts afterwards (a runtime's workers) are there too.
    pub fn enter(&self, name: &str) {
        let path = format!("/run/netns/{}", self.ns(self.node(name)));
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: plain system call on a descriptor we own.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
    }

    /// Moves the calling thread into node `name` and starts a runtime
    /// there: its threads, and every connection they make, live in that
    /// node. Call before any other runtime runs on this thread.
    pub fn runtime_in(&self, name: &str) -> tokio::runtime::Runtime {
        self.enter(name);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    }

    fn route(&self, verb: &str, from: usize, to: usize) {
        let out = Command::new("ip")
            .args(["-n", &self.ns(from), "route", verb, "blackhole"])
            .arg(format!("{}/32", self.addr(to)))
            .output()
            .expect("running ip");
        // Cutting twice or healing what is whole is fine.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("File exists") || err.contains("No such process"),
            "ip route {verb}: {err}"
        );
    }

    /// Cuts the link between nodes `a` and `b` (both ways).
    pub fn cut(&self, a: &str, b: &str) {
        let (a, b) = (self.node(a), self.node(b));
        self.route("add", a, b);
        self.route("add", b, a);
    }

    /// Heals the link between nodes `a` and `b`.
    pub fn heal(&self, a: &str, b: &str) {
        let (a, b) = (self.node(a), self.node(b));
        self.route("del", a, b);
        self.route("del", b, a);
    }

    /// Cuts node `a` from every other node.
    pub fn isolate(&self, a: &str) {
        for b in self.nodes.clone() {
            if b != a {
                self.cut(a, &b);
            }
        }
    }

    /// Heals every link.
    pub fn heal_all(&self) {
        for a in 0..self.nodes.len() {
            for b in 0..self.nodes.len() {
                if a != b {
                    self.route("del", a, b);
                }
            }
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(i)])
                .output();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.bridge_ns()])
            .output();
    }
}

#[cfg(test)]
mod tests {
    use super::Net;
    use std::io::{Read, Write};
    use std::time::Duration;

    /// A TCP exchange between two nodes, cut and healed.
    #[test]
    fn a_cut_link_carries_nothing_until_healed() {
        let net = Net::new(&["a", "b"]);
        let b = net.addr(net.node("b"));
        let listener = std::thread::scope(|s| {
            s.spawn(|| {
                net.enter("b");
                std::net::TcpListener::bind((b, 7070)).unwrap()
            })
            .join()
            .unwrap()
        });
        let serve = std::thread::spawn(move || {
            for conn in listener.incoming().take(2) {
                let _ = conn.unwrap().write_all(b"hi");
            }
        });
        let attempt = |net: &Net| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    net.enter("a");
                    let mut c = std::net::TcpStream::connect_timeout(
                        &(b, 7070).into(),
                        Duration::from_secs(5),
                    )?;
                    let mut buf = [0u8; 2];
                    c.read_exact(&mut buf)?;
                    Ok::<_, std::io::Error>(buf)
                })
                .join()
                .unwrap()
            })
        };
        assert_eq!(&attempt(&net).unwrap(), b"hi");
        net.cut("a", "b");
        assert!(attempt(&net).is_err(), "a cut link carried a connection");
        net.heal("a", "b");
        assert_eq!(&attempt(&net).unwrap(), b"hi");
        serve.join().unwrap();
    }
}
