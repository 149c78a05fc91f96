//! Reader for the subset of Java properties syntax found in
//! `alluxio-site.properties`.
//!
//! Accepted: `key=value`, `key = value`, `key: value`, `key value`, `#` and
//! `!` comments, blank lines, a trailing backslash continuing a line, and
//! Java's escapes (`\t`, `\n`, `\uXXXX`, `\=`...). Unlike Java, a line that
//! holds a key but neither a separator nor a value is an error: it is almost
//! always a typo, and the operator should hear about it.

use std::path::Path;

use super::ConfigError;

/// One `key=value` entry and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The property name.
    pub key: String,
    /// The value, surrounding whitespace trimmed.
    pub value: String,
    /// The line where the entry starts.
    pub line: usize,
}

/// Reads and parses a properties file; a bad line is reported with the file
/// name and line number.
pub fn read_properties_file(path: &Path) -> Result<Vec<Property>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_properties(&String::from_utf8_lossy(&bytes)).map_err(|(line, message)| {
        ConfigError::Parse {
            file: path.to_path_buf(),
            line,
            message,
        }
    })
}

/// Parses properties text; `Err` holds the line number and what is wrong.
pub fn parse_properties(text: &str) -> Result<Vec<Property>, (usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut properties = Vec::new();
    let mut next = 0;
    while next < lines.len() {
        let line = next + 1;
        let first = lines[next].trim_start();
        next += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = first.to_string();
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.get(next) {
                Some(following) => logical.push_str(following.trim_start()),
                None => break,
            }
            next += 1;
        }
        let (key, value) = parse_entry(&logical).map_err(|message| (line, message))?;
        properties.push(Property { key, value, line });
    }
    Ok(properties)
}

/// A line continues when it ends in an odd number of backslashes.
fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits one logical line into its unescaped key and value.
fn parse_entry(line: &str) -> Result<(String, String), String> {
    let mut key_end = line.len();
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || c.is_whitespace() {
            key_end = index;
            break;
        }
    }
    let (raw_key, rest) = line.split_at(key_end);
    let rest = rest.trim_start();
    let (has_separator, raw_value) = match rest.strip_prefix(['=', ':']) {
        Some(value) => (true, value.trim_start()),
        None => (false, rest),
    };
    let raw_value = raw_value.trim_end();
    if raw_key.is_empty() {
        return Err(format!("expected key=value, found no key before {line:?}"));
    }
    if !has_separator && raw_value.is_empty() {
        return Err(format!("expected key=value, found only {raw_key:?}"));
    }
    Ok((unescape(raw_key)?, unescape(raw_value)?))
}

/// Applies Java properties escapes; a lone trailing backslash is dropped.
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let decoded = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("malformed \\uXXXX escape \"\\u{hex}\""))?;
                out.push(decoded);
            }
            Some(other) => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_properties(text)
            .expect("parses")
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn separators_comments_and_whitespace() {
        let text = "# comment\n! also a comment\n\n  a=1\nb = 2  \nc: 3\nd 4\ne\t=\t5\nf=\n\
                    g = x = y\r\nh=a b c\n";
        assert_eq!(
            pairs(text),
            vec![
                pair("a", "1"),
                pair("b", "2"),
                pair("c", "3"),
                pair("d", "4"),
                pair("e", "5"),
                pair("f", ""),
                pair("g", "x = y"),
                pair("h", "a b c"),
            ]
        );
    }

    #[test]
    fn continuation_lines() {
        let text = "list = a,\\\n       b,\\\n       c\nnext=1\nescaped=ends\\\\\nlast=x\\";
        assert_eq!(
            pairs(text),
            vec![
                pair("list", "a,b,c"),
                pair("next", "1"),
                pair("escaped", "ends\\"),
                pair("last", "x")
            ]
        );
    }

    #[test]
    fn comment_lines_do_not_continue() {
        assert_eq!(pairs("# a comment \\\nkey=v"), vec![pair("key", "v")]);
    }

    #[test]
    fn escapes() {
        assert_eq!(pairs(r"a\=b=c\u0041\t"), vec![pair("a=b", "cA\t")]);
        assert_eq!(
            pairs(r"key\ with\ space = v"),
            vec![pair("key with space", "v")]
        );
    }

    #[test]
    fn line_numbers_of_entries_and_errors() {
        let parsed = parse_properties("\n# c\na=1\\\n2\nb=3\n").expect("parses");
        assert_eq!(
            parsed.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![3, 5]
        );
        assert_eq!(parse_properties("a=1\n\nlonely\n").map_err(|e| e.0), Err(3));
        assert_eq!(parse_properties("a=1\n= value\n").map_err(|e| e.0), Err(2));
        assert_eq!(parse_properties("a=\\u00zz\n").map_err(|e| e.0), Err(1));
    }
}
