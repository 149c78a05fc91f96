//! Reader for the plain assignments in `alluxio-env.sh`, without running a
//! shell.
//!
//! Understood: `VAR=value`, `export VAR=value`, `VAR+=value`, single and
//! double quotes (which may span lines), backslash escapes, and `$VAR`,
//! `${VAR}`, `${VAR:-default}` expansion from earlier assignments or the
//! process environment (so the common `ALLUXIO_JAVA_OPTS="$ALLUXIO_JAVA_OPTS
//! -D..."` idiom works). Any other statement, and any assignment using
//! command substitution, is skipped.

use std::collections::HashMap;

/// Parses the assignments of an env file. `env` supplies variables the file
/// refers to but does not set. Returns the final value of each variable the
/// file assigns.
pub fn parse_env_file(text: &str, env: &HashMap<String, String>) -> HashMap<String, String> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let mut assigned: HashMap<String, String> = HashMap::new();
    while parser.skip_blank_and_comments() {
        let statement_start = parser.pos;
        match parser.assignment(&assigned, env) {
            Some((name, append, value)) => {
                let value = match (append, assigned.get(&name).or_else(|| env.get(&name))) {
                    (true, Some(old)) => format!("{old}{value}"),
                    _ => value,
                };
                assigned.insert(name, value);
            }
            None => {
                parser.pos = statement_start;
                tracing::debug!(
                    "alluxio-env.sh: skipping statement that is not a plain assignment"
                );
            }
        }
        parser.skip_line();
    }
    assigned
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// Skips whitespace, newlines and comments; false at end of text.
    fn skip_blank_and_comments(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ';' {
                self.pos += 1;
            } else if c == '#' {
                self.skip_line();
            } else {
                return true;
            }
        }
        false
    }

    /// Moves past the end of the current line.
    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == '\n' {
                break;
            }
        }
    }

    fn name(&mut self) -> Option<String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let valid =
                c == '_' || c.is_ascii_alphabetic() || (c.is_ascii_digit() && self.pos > start);
            if !valid {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }

    /// Parses `[export ]NAME[+]=WORD`; `None` for anything else.
    fn assignment(
        &mut self,
        assigned: &HashMap<String, String>,
        env: &HashMap<String, String>,
    ) -> Option<(String, bool, String)> {
        let mut name = self.name()?;
        if name == "export" && self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
                self.pos += 1;
            }
            name = self.name()?;
        }
        let append = self.peek() == Some('+');
        if append {
            self.pos += 1;
        }
        if self.peek() != Some('=') {
            return None;
        }
        self.pos += 1;
        let lookup = |var: &str| assigned.get(var).or_else(|| env.get(var)).cloned();
        let value = self.word(&lookup)?;
        Some((name, append, value))
    }

    /// Reads one shell word with quotes removed and variables expanded.
    fn word(&mut self, lookup: &impl Fn(&str) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            match c {
                c if c.is_whitespace() || c == ';' => break,
                '\'' => {
                    self.pos += 1;
                    loop {
                        match self.peek()? {
                            '\'' => break,
                            inner => out.push(inner),
                        }
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                '"' => {
                    self.pos += 1;
                    loop {
                        match self.peek()? {
                            '"' => break,
                            '\\' if matches!(self.peek_at(1), Some('"' | '\\' | '$' | '`')) => {
                                out.push(self.peek_at(1)?);
                                self.pos += 2;
                            }
                            '\\' if self.peek_at(1) == Some('\n') => self.pos += 2,
                            '$' => out.push_str(&self.expansion(lookup)?),
                            '`' => return None,
                            inner => {
                                out.push(inner);
                                self.pos += 1;
                            }
                        }
                    }
                    self.pos += 1;
                }
                '\\' => {
                    match self.peek_at(1) {
                        Some('\n') | None => {}
                        Some(escaped) => out.push(escaped),
                    }
                    self.pos += 2;
                }
                '$' => out.push_str(&self.expansion(lookup)?),
                '`' | '(' | ')' | '|' | '&' | '<' | '>' => return None,
                other => {
                    out.push(other);
                    self.pos += 1;
                }
            }
        }
        Some(out)
    }

    /// Expands `$NAME`, `${NAME}`, `${NAME:-default}` or `${NAME-default}`
    /// at a `$`; `None` for command substitution or other forms.
    fn expansion(&mut self, lookup: &impl Fn(&str) -> Option<String>) -> Option<String> {
        self.pos += 1;
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let name = self.name()?;
                let value = lookup(&name);
                let result = match self.peek()? {
                    '}' => value.unwrap_or_default(),
                    ':' | '-' => {
                        let use_default = if self.peek() == Some(':') {
                            self.pos += 1;
                            value.as_deref().is_none_or(str::is_empty)
                        } else {
                            value.is_none()
                        };
                        if self.peek() != Some('-') {
                            return None;
                        }
                        self.pos += 1;
                        let start = self.pos;
                        while self.peek()? != '}' {
                            self.pos += 1;
                        }
                        let default: String = self.chars[start..self.pos].iter().collect();
                        if use_default {
                            default
                        } else {
                            value.unwrap_or_default()
                        }
                    }
                    _ => return None,
                };
                if self.peek() != Some('}') {
                    return None;
                }
                self.pos += 1;
                Some(result)
            }
            Some('(') => None,
            _ => match self.name() {
                Some(name) => Some(lookup(&name).unwrap_or_default()),
                None => Some("$".to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> HashMap<String, String> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_env_file(text, &env)
    }

    #[test]
    fn plain_quoted_and_exported_assignments() {
        let vars = parse(
            "#!/usr/bin/env bash\n# comment\nA=1\nexport B=\"two words\"\nC='${A} $A'\n\
             D=x # trailing comment\n  E=\"\"\n",
            &[],
        );
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "${A} $A");
        assert_eq!(vars["D"], "x");
        assert_eq!(vars["E"], "");
        assert_eq!(vars.len(), 5);
    }

    #[test]
    fn expansion_and_append() {
        let vars = parse(
            "OPTS=\"$OPTS -Da=1\"\nOPTS+=\" -Db=2\"\nH=${HOST:-localhost}\nG=${GIVEN:-no}\n\
             P=\"${OPTS}/x\"\nQ=\"\\$A \\\"q\\\"\"\n",
            &[("OPTS", "-Dz=0"), ("GIVEN", "yes")],
        );
        assert_eq!(vars["OPTS"], "-Dz=0 -Da=1 -Db=2");
        assert_eq!(vars["H"], "localhost");
        assert_eq!(vars["G"], "yes");
        assert_eq!(vars["P"], "-Dz=0 -Da=1 -Db=2/x");
        assert_eq!(vars["Q"], "$A \"q\"");
    }

    #[test]
    fn multi_line_quotes() {
        let vars = parse("JAVA_OPTS=\"\n  -Da=1\n  -Db=2\n\"\nNEXT=ok\n", &[]);
        assert_eq!(vars["JAVA_OPTS"], "\n  -Da=1\n  -Db=2\n");
        assert_eq!(vars["NEXT"], "ok");
    }

    #[test]
    fn skips_what_needs_a_shell() {
        let vars = parse(
            "if [ -z \"$X\" ]; then\n  Y=1\nfi\nZ=$(hostname)\nW=`date`\nalias ll=ls\nOK=1\n",
            &[],
        );
        assert_eq!(vars.get("Z"), None);
        assert_eq!(vars.get("W"), None);
        assert_eq!(vars["OK"], "1");
        assert_eq!(vars["Y"], "1");
    }
}
