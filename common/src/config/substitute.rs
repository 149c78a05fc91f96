//! Expansion of `${key}` references in property values, as Alluxio does for
//! defaults such as `${alluxio.work.dir}/journal`.
//!
//! Expansion runs after all sources are merged, so a reference sees the
//! winning value of the key it names. References nest; a cycle is an error
//! naming the chain. Text such as `${` without a closing brace is kept as is.

/// Expands every `${name}` in `value`, looking names up with `lookup`.
/// `key` is the property being expanded (for cycle detection); `Err` holds
/// the reason, e.g. "cycle a -> b -> a".
pub fn expand<'a>(
    key: &str,
    value: &str,
    lookup: &impl Fn(&str) -> Option<&'a str>,
) -> Result<String, String> {
    let mut chain = vec![key.to_string()];
    expand_in(value, &mut chain, lookup)
}

fn expand_in<'a>(
    value: &str,
    chain: &mut Vec<String>,
    lookup: &impl Fn(&str) -> Option<&'a str>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after
            .find(['}', '{'])
            .filter(|&end| after[end..].starts_with('}'))
        else {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        };
        let name = after[..end].trim();
        out.push_str(&rest[..start]);
        if chain.iter().any(|seen| seen == name) {
            chain.push(name.to_string());
            return Err(format!("cycle {}", chain.join(" -> ")));
        }
        let raw = lookup(name).ok_or_else(|| format!("${{{name}}} is not set"))?;
        chain.push(name.to_string());
        out.push_str(&expand_in(raw, chain, lookup)?);
        chain.pop();
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(values: &[(&str, &str)], key: &str) -> Result<String, String> {
        let map: HashMap<&str, &str> = values.iter().copied().collect();
        let lookup = |name: &str| map.get(name).copied();
        expand(key, map[key], &lookup)
    }

    #[test]
    fn expands_nested_references() {
        let values = [("a", "${b}/x/${c}"), ("b", "/root/${c}"), ("c", "z")];
        assert_eq!(run(&values, "a"), Ok("/root/z/x/z".to_string()));
    }

    #[test]
    fn keeps_unclosed_text() {
        let values = [("a", "cost: ${ and ${b"), ("b", "1")];
        assert_eq!(run(&values, "a"), Ok("cost: ${ and ${b".to_string()));
    }

    #[test]
    fn reports_missing_and_cycles() {
        assert_eq!(
            run(&[("a", "${nope}")], "a"),
            Err("${nope} is not set".to_string())
        );
        let values = [("a", "${b}"), ("b", "x${c}"), ("c", "${a}")];
        assert_eq!(run(&values, "a"), Err("cycle a -> b -> c -> a".to_string()));
        assert_eq!(run(&[("a", "${a}")], "a"), Err("cycle a -> a".to_string()));
    }
}
