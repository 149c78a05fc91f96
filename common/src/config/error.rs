//! The one error type of configuration loading and lookup.
//!
//! Every variant names what the operator must fix: the key and the value and
//! the accepted form for a bad value, the file and line for a syntax error.

use std::path::PathBuf;

/// Why a configuration could not be loaded or a value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value does not have the form its key requires.
    #[error("invalid value {value:?} for {key}: expected {expected}")]
    InvalidValue {
        /// The property name.
        key: String,
        /// The value as found (after `${...}` substitution).
        value: String,
        /// What is accepted, e.g. "a size such as 64MB, 1GB or a number of bytes".
        expected: String,
    },
    /// The key has no value and no default.
    #[error("{key} is not set and has no default")]
    Missing {
        /// The property name.
        key: String,
    },
    /// A line of a properties file could not be parsed.
    #[error("{}:{line}: {message}", file.display())]
    Parse {
        /// The file being read.
        file: PathBuf,
        /// The 1-based number of the line where the entry starts.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A `${key}` reference could not be expanded.
    #[error("cannot substitute references in {key}: {message}")]
    Substitution {
        /// The property whose value holds the reference.
        key: String,
        /// The missing reference or the cycle.
        message: String,
    },
    /// A configuration file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
}
