//! Validated, normalized Alluxio paths.
//!
//! Every path crossing an API boundary is parsed here once, so the master
//! never sees a relative path, an empty component or a `..` that escapes the
//! root.

use std::fmt;

use crate::error::FsError;

/// Longest allowed name of one path component, in bytes (as POSIX NAME_MAX).
pub const MAX_NAME_BYTES: usize = 255;
/// Longest allowed whole path, in bytes (as POSIX PATH_MAX).
pub const MAX_PATH_BYTES: usize = 4096;

/// An absolute, normalized path: `/` or `/a/b` with no empty, `.` or `..` parts.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlluxioPath {
    components: Vec<String>,
}

fn invalid(path: &str, reason: &str) -> FsError {
    FsError::InvalidPath {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

impl AlluxioPath {
    /// The root path `/`.
    pub fn root() -> Self {
        AlluxioPath {
            components: Vec::new(),
        }
    }

    /// Parses and normalizes `raw`. `.` parts are dropped and `..` removes the
    /// previous part; a trailing `/` is allowed.
    pub fn parse(raw: &str) -> Result<Self, FsError> {
        // Accept the `alluxio://host:port/path` form the Java CLI takes.
        let raw_path = match raw.strip_prefix("alluxio://") {
            Some(rest) => match rest.find('/') {
                Some(i) => &rest[i..],
                None => "/",
            },
            None => raw,
        };
        if raw_path.is_empty() {
            return Err(invalid(raw, "path is empty"));
        }
        if !raw_path.starts_with('/') {
            return Err(invalid(raw, "path must be absolute (start with '/')"));
        }
        if raw_path.len() > MAX_PATH_BYTES {
            return Err(FsError::NameTooLong(format!(
                "path is {} bytes, the limit is {MAX_PATH_BYTES}",
                raw_path.len()
            )));
        }
        if raw_path.contains('\0') {
            return Err(invalid(raw, "path contains a NUL byte"));
        }
        let trimmed = raw_path.strip_suffix('/').unwrap_or(raw_path);
        let mut components: Vec<String> = Vec::new();
        if trimmed.is_empty() {
            return Ok(AlluxioPath { components });
        }
        for part in trimmed[1..].split('/') {
            match part {
                "" => return Err(invalid(raw, "path has an empty component ('//')")),
                "." => {}
                ".." => {
                    if components.pop().is_none() {
                        return Err(invalid(raw, "'..' escapes the root"));
                    }
                }
                name => {
                    if name.len() > MAX_NAME_BYTES {
                        return Err(FsError::NameTooLong(format!(
                            "component {:?}... is {} bytes, the limit is {MAX_NAME_BYTES}",
                            &name[..name.char_indices().nth(16).map_or(name.len(), |(i, _)| i)],
                            name.len()
                        )));
                    }
                    components.push(name.to_string());
                }
            }
        }
        Ok(AlluxioPath { components })
    }

    /// Checks that `name` is usable as one directory entry.
    pub fn validate_name(name: &str) -> Result<(), FsError> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(invalid(name, "not a valid file name"));
        }
        if name.contains('\0') {
            return Err(invalid(name, "name contains a NUL byte"));
        }
        if name.len() > MAX_NAME_BYTES {
            return Err(FsError::NameTooLong(format!(
                "name is {} bytes, the limit is {MAX_NAME_BYTES}",
                name.len()
            )));
        }
        Ok(())
    }

    /// The path's components, root first.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The last component, or `""` for the root.
    pub fn name(&self) -> &str {
        self.components.last().map(String::as_str).unwrap_or("")
    }

    /// The parent path; the root's parent is `None`.
    pub fn parent(&self) -> Option<AlluxioPath> {
        if self.is_root() {
            return None;
        }
        Some(AlluxioPath {
            components: self.components[..self.components.len() - 1].to_vec(),
        })
    }

    /// Appends one validated name.
    pub fn join(&self, name: &str) -> Result<AlluxioPath, FsError> {
        Self::validate_name(name)?;
        let mut components = self.components.clone();
        components.push(name.to_string());
        Ok(AlluxioPath { components })
    }

    /// Whether `self` equals `other` or lies below it.
    pub fn starts_with(&self, other: &AlluxioPath) -> bool {
        self.components.len() >= other.components.len()
            && self.components[..other.components.len()] == other.components[..]
    }

    /// The components of `self` below `prefix`, joined with `/`, if `self`
    /// starts with `prefix`.
    pub fn strip_prefix(&self, prefix: &AlluxioPath) -> Option<String> {
        self.starts_with(prefix)
            .then(|| self.components[prefix.components.len()..].join("/"))
    }
}

impl fmt::Display for AlluxioPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.components.is_empty() {
            return f.write_str("/");
        }
        for c in &self.components {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for AlluxioPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        AlluxioPath::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalizes() {
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("/a/b/"), "/a/b");
        assert_eq!(ok("/a/./b/../c"), "/a/c");
        assert_eq!(ok("alluxio://host:19998/x/y"), "/x/y");
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in ["", "a/b", "/a//b", "/..", "/a/../..", "/a\0b"] {
            assert!(
                matches!(AlluxioPath::parse(bad), Err(FsError::InvalidPath { .. })),
                "{bad:?} accepted"
            );
        }
        let long = format!("/{}", "x".repeat(256));
        assert!(matches!(
            AlluxioPath::parse(&long),
            Err(FsError::NameTooLong(_))
        ));
        assert!(AlluxioPath::parse(&format!("/{}", "x".repeat(255))).is_ok());
    }

    #[test]
    fn prefix_and_parent() {
        let p = AlluxioPath::parse("/a/b/c").unwrap();
        let a = AlluxioPath::parse("/a").unwrap();
        assert!(p.starts_with(&a));
        assert_eq!(p.strip_prefix(&a).unwrap(), "b/c");
        assert_eq!(p.parent().unwrap().to_string(), "/a/b");
        assert!(!AlluxioPath::parse("/ab").unwrap().starts_with(&a));
    }
}
