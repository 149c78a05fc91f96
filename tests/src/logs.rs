//! Server logs read at the end of every test: a test fails when a master,
//! worker or FUSE daemon it started logged a panic or an ERROR line the
//! test did not declare as expected (`Cluster::expect_log`). A bug that a
//! server only logs (a task that died, a failed background write) then
//! fails the test that provoked it instead of passing unnoticed.

use std::path::{Path, PathBuf};

/// Whether `line` reports a panic or an error: the `ERROR` level of our
/// log format (`<time> ERROR <message>`) or Rust's panic message.
fn is_alarm(line: &str) -> bool {
    line.contains(" ERROR ") || line.contains("panicked at")
}

/// The alarming lines of `text` that contain none of `expected`.
pub fn unexpected_lines<'a>(text: &'a str, expected: &[String]) -> Vec<&'a str> {
    text.lines()
        .filter(|line| is_alarm(line))
        .filter(|line| !expected.iter().any(|e| line.contains(e.as_str())))
        .collect()
}

/// Every `fuse*.log` (a FUSE daemon's log) under `dir`, at most `depth`
/// folders down.
pub fn fuse_logs(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth > 0 {
            found.extend(fuse_logs(&path, depth - 1));
        } else if kind.is_file() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("fuse") && name.ends_with(".log") {
                found.push(path);
            }
        }
    }
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
                    2026-12-04T18:00:03.000001Z ERROR cannot free block 7\n";
        assert_eq!(unexpected_lines(text, &[]).len(), 3);
        let expected = vec!["disk full".to_string(), "panicked at".to_string()];
        assert_eq!(
            unexpected_lines(text, &expected),
            vec!["2026-12-04T18:00:03.000001Z ERROR cannot free block 7"]
        );
    }
}
