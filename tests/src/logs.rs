//! Server logs read at the end of every test: a test fails when a master,
//! worker or FUSE daemon it started logged a panic or an ERROR line the
//! test did not declare as expected (`Cluster::expect_log`). A bug that a
//! server only logs (a task that died, a failed background write) then
//! fails the test that provoked it instead of passing unnoticed.

use std::path::{Path, PathBuf};

/// Whether `line` reports a panic or an error: the `ERROR` level of our
/// log format (`<time> ERROR <message>`: the second word) or Rust's panic
/// message (`thread '…' panicked at <file>:`, the message on the lines
/// after it).
fn is_alarm(line: &str) -> bool {
    line.split_whitespace().nth(1) == Some("ERROR")
        || (line.starts_with("thread '") && line.contains("' panicked at "))
}

/// The alarming lines of `text` that contain none of `expected`.
pub fn unexpected_lines<'a>(text: &'a str, expected: &[String]) -> Vec<&'a str> {
    text.lines()
        .filter(|line| is_alarm(line))
        .filter(|line| !expected.iter().any(|e| line.contains(e.as_str())))
        .collect()
}

/// Every FUSE daemon log in `logs_dir` (`fuse<mount point>.log`, and its
/// rotated copies). Only that folder is read: a walk of the cluster's
/// directory would descend into live mounts.
pub fn fuse_logs(logs_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(logs_dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("fuse") && name.contains(".log")
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// A report of the unexpected lines in `logs` (name, path), or `None` when
/// there are none.
pub fn check(logs: &[(String, PathBuf)], expected: &[String]) -> Option<String> {
    let mut report = String::new();
    for (name, path) in logs {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let bad = unexpected_lines(&text, expected);
        if !bad.is_empty() {
            report.push_str(&format!("--- {name} ({})\n", path.display()));
            for line in bad.iter().take(20) {
                report.push_str(line);
                report.push('\n');
            }
        }
    }
    (!report.is_empty()).then_some(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_panics_are_found_unless_expected() {
        let text = "2026-12-04T18:00:00.000001Z  INFO serving\n\
                    2026-12-04T18:00:01.000001Z ERROR journal publish failed: disk full\n\
                    thread 'tokio-runtime-worker' panicked at master/src/x.rs:1:1:\n\
                    2026-12-04T18:00:02.000001Z  WARN ERRORS are not errors here\n\
                    2026-12-04T18:00:02.500001Z  WARN the peer said ERROR 5\n\
                    2026-12-04T18:00:03.000001Z ERROR cannot free block 7\n";
        assert_eq!(unexpected_lines(text, &[]).len(), 3);
        let expected = vec!["disk full".to_string(), "panicked at".to_string()];
        assert_eq!(
            unexpected_lines(text, &expected),
            vec!["2026-12-04T18:00:03.000001Z ERROR cannot free block 7"]
        );
    }
}
