//! Parsing of command-line values shared by the commands (the `-D` flag is
//! `alluxio_common::startup::parse_property`): permission modes, owners, sizes, and whether a path names the local file
//! system or Alluxio. Also turns clap's own errors into one line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use alluxio_common::AlluxioPath;
use clap::error::ErrorKind;

/// Parses an octal permission mode such as `755` or `1777`.
pub fn parse_mode(text: &str) -> Result<u32, String> {
    let bad = || format!("invalid mode {text:?}: expected octal digits such as 755 or 0644");
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    u32::from_str_radix(text, 8).map_err(|_| bad())
}

/// An owner and an optional group, from `owner[:group]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerGroup {
    pub owner: String,
    pub group: Option<String>,
}

/// Parses `owner[:group]`.
pub fn parse_owner(text: &str) -> Result<OwnerGroup, String> {
    let (owner, group) = match text.split_once(':') {
        Some((owner, group)) => (owner, Some(group)),
        None => (text, None),
    };
    let valid = |name: &str| !name.is_empty() && !name.contains(|c: char| c.is_whitespace());
    if !valid(owner) || group.is_some_and(|g| !valid(g)) {
        return Err(format!(
            "invalid owner {text:?}: expected OWNER or OWNER:GROUP"
        ));
    }
    Ok(OwnerGroup {
        owner: owner.to_string(),
        group: group.map(str::to_string),
    })
}

/// Parses a byte count in Alluxio's forms (`1024`, `1KB`, `64MB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    alluxio_common::config::parse_bytes(text)
        .map_err(|expected| format!("invalid size {text:?}: expected {expected}"))
}

/// Parses `KEY=VALUE` of a mount option.
pub fn parse_option(item: &str) -> Result<(String, String), String> {
    match item.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {item:?}")),
    }
}

/// Where a path argument points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A path on this machine (`file:///tmp/a` or, where only local paths
    /// make sense, a plain path).
    Local(PathBuf),
    /// A path in Alluxio, normalized (`/a/b`).
    Alluxio(String),
}

/// Classifies a path argument of `cp`: `file://...` is local, anything else
/// (a plain path or `alluxio://host:port/path`) is in Alluxio.
pub fn location(text: &str) -> Result<Location, String> {
    match text.strip_prefix("file://") {
        Some("") => Err(format!("invalid local path {text:?}")),
        Some(local) => Ok(Location::Local(PathBuf::from(local))),
        None => alluxio_path(text).map(Location::Alluxio),
    }
}

/// Normalizes an Alluxio path argument: accepts `/a/b` and
/// `alluxio://host:port/a/b` (the authority is ignored: the configured
/// masters are used).
pub fn alluxio_path(text: &str) -> Result<String, String> {
    let rest = text.strip_prefix("alluxio://").unwrap_or(text);
    if let Some((scheme, _)) = rest.split_once("://") {
        return Err(format!(
            "unsupported scheme {scheme:?} in {text:?}: expected an Alluxio path (/a/b)"
        ));
    }
    AlluxioPath::parse(text)
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}

/// `parent/name` for Alluxio paths.
pub fn join(parent: &str, name: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The last component of an Alluxio path (empty for `/`).
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// Prints clap's outcome: help and version go to stdout with status 0; an
/// error becomes one line on stderr with status 1.
pub fn report_parse_error(err: clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = err.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            let _ = writeln!(std::io::stderr(), "alluxio: {message} (see --help)");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("755").unwrap(), 0o755);
        assert_eq!(parse_mode("0644").unwrap(), 0o644);
        assert_eq!(parse_mode("1777").unwrap(), 0o1777);
        for bad in ["", "8", "u+x", "77777", "-1"] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn owners() {
        assert_eq!(
            parse_owner("bob:staff").unwrap(),
            OwnerGroup {
                owner: "bob".into(),
                group: Some("staff".into())
            }
        );
        assert_eq!(parse_owner("bob").unwrap().group, None);
        for bad in ["", ":g", "bob:", "a b"] {
            assert!(parse_owner(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locations() {
        assert_eq!(
            location("file:///tmp/a").unwrap(),
            Location::Local("/tmp/a".into())
        );
        assert_eq!(
            location("/a/./b/").unwrap(),
            Location::Alluxio("/a/b".into())
        );
        assert_eq!(
            location("alluxio://h:19998/x").unwrap(),
            Location::Alluxio("/x".into())
        );
        assert_eq!(
            location("alluxio://h:19998").unwrap(),
            Location::Alluxio("/".into())
        );
        assert!(location("s3://bucket/x").is_err());
        assert!(location("file://").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(base_name("/a/b"), "b");
        assert_eq!(base_name("/"), "");
        assert_eq!(parse_size("1KB").unwrap(), 1024);
        assert!(parse_size("lots").is_err());
    }
}
