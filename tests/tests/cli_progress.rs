//! Progress bars of the long CLI commands (issue 5): drawn on a terminal
//! (a pseudo-terminal made by `script`), absent when the output is piped,
//! where the commands print exactly their usual lines.

use std::process::Command;

use alluxio_tests::{bin_path, test_bytes, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_and_load_are_quiet_when_piped_and_show_a_bar_on_a_terminal() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let local = cluster.path().join("local");
    std::fs::create_dir_all(local.join("dir")).unwrap();
    let big = local.join("big");
    std::fs::write(&big, test_bytes(1, 9 << 20)).unwrap();
    std::fs::write(local.join("dir/small"), test_bytes(2, 1000)).unwrap();
    let big_path = big.to_str().unwrap();

    // Piped: only the usual lines, nothing on stderr.
    let out = cluster.cli(&["fs", "copyFromLocal", big_path, "/big"]).ok();
    assert_eq!(out.stdout, format!("Copied file://{big_path} to /big\n"));
    assert_eq!(out.stderr, "");
    let out = cluster.cli(&["fs", "cp", "-R", "/big", "/big2"]).ok();
    assert_eq!(out.stdout, "Copied /big to /big2\n");
    assert_eq!(out.stderr, "");
    let back = local.join("back");
    let out = cluster
        .cli(&["fs", "copyToLocal", "/big", back.to_str().unwrap()])
        .ok();
    assert_eq!(
        out.stdout,
        format!("Copied /big to file://{}\n", back.display())
    );
    assert_eq!(out.stderr, "");
    assert_eq!(std::fs::read(&back).unwrap(), test_bytes(1, 9 << 20));
    let out = cluster.cli(&["fs", "load", "/"]).ok();
    assert_eq!(out.stdout, "/ loaded\n");
    assert_eq!(out.stderr, "");

    // On a terminal: the bar (file name, bytes of the total) and the lines.
    let alluxio = bin_path("alluxio");
    let on_tty = |args: &str| {
        let out = Command::new("script")
            .arg("-qec")
            .arg(format!("{} {args}", alluxio.display()))
            .arg("/dev/null")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", cluster.path())
            .env("ALLUXIO_CONF_DIR", cluster.path().join("conf"))
            .env("TERM", "xterm")
            .output()
            .expect("running script (util-linux)");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = on_tty(&format!("fs copyFromLocal {big_path} /big3"));
    assert!(text.contains("/9.00 MiB"), "no bar: {text:?}");
    assert!(text.contains("Copied file://"), "{text:?}");
    let text = on_tty("fs cp -R /big /big4");
    assert!(text.contains("/9.00 MiB"), "no bar: {text:?}");
    let text = on_tty("fs load /big4");
    assert!(
        text.contains("/9.00 MiB") && text.contains("/big4 loaded"),
        "{text:?}"
    );
}
