//! The textual forms Alluxio accepts for sizes, durations, booleans, counts,
//! ports and ratios, so an existing `alluxio-site.properties` reads unchanged.
//!
//! Each parser returns `Err` with the description of the accepted form (for
//! example "a size such as 64MB, 1GB or a number of bytes"), which
//! [`ConfigError::InvalidValue`](super::ConfigError::InvalidValue) quotes.

use std::time::Duration;

/// Accepted form of a size, quoted in errors.
pub const BYTES_FORM: &str = "a size such as 64MB, 1GB or a number of bytes";
/// Accepted form of a duration, quoted in errors.
pub const DURATION_FORM: &str =
    "a duration such as 100ms, 1sec, 5min, 2h, 1day or a number of milliseconds";
/// Accepted form of a boolean, quoted in errors.
pub const BOOL_FORM: &str = "true or false";
/// Accepted form of a count, quoted in errors.
pub const INT_FORM: &str = "a non-negative integer";
/// Accepted form of a port, quoted in errors.
pub const PORT_FORM: &str = "a port number from 1 to 65535";
/// Accepted form of a ratio, quoted in errors.
pub const RATIO_FORM: &str = "a ratio from 0 to 1 such as 0.95";

const KIB: u64 = 1024;
const SIZE_UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];

/// Splits `"64 MB"` into `("64", "MB")`; the number is digits with at most
/// one decimal point and must start with a digit.
fn split_number(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let starts_with_digit = number.starts_with(|c: char| c.is_ascii_digit());
    if !starts_with_digit || number.matches('.').count() > 1 {
        return None;
    }
    Some((number, unit.trim_start()))
}

/// Multiplies an integer or decimal number by `unit`, rounding down, or
/// `None` when the result does not fit in a `u64`.
fn scale(number: &str, unit: u64) -> Option<u64> {
    if number.contains('.') {
        let value = number.parse::<f64>().ok()? * unit as f64;
        // u64::MAX as f64 rounds up to 2^64, so `<` keeps the cast in range.
        (value.is_finite() && value < u64::MAX as f64).then_some(value as u64)
    } else {
        number.parse::<u64>().ok()?.checked_mul(unit)
    }
}

/// Parses a size in Alluxio's form: `1024`, `512B`, `10KB`, `64MB`, `64mb`,
/// `64M`, `1.5GB`, `2TB`, optionally with spaces before the unit. Units are
/// binary (1KB = 1024 bytes); a fraction of a byte is dropped.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text).ok_or_else(|| BYTES_FORM.to_string())?;
    let exponent = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        "p" | "pb" | "pib" => 5,
        _ => return Err(BYTES_FORM.to_string()),
    };
    scale(number, KIB.pow(exponent)).ok_or_else(|| format!("{BYTES_FORM}, below 16EB"))
}

/// Parses a duration in Alluxio's form: `100ms`, `1s`, `1sec`, `1.5sec`,
/// `5min`, `10m` (minutes), `2h`, `2hour`, `1day`; a plain number is a
/// number of milliseconds, as in Alluxio.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_number(text).ok_or_else(|| DURATION_FORM.to_string())?;
    let unit_millis: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "ms" | "msec" | "msecs" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return Err(DURATION_FORM.to_string()),
    };
    if number.contains('.') {
        let seconds = number
            .parse::<f64>()
            .map_err(|_| DURATION_FORM.to_string())?
            * unit_millis as f64
            / 1_000.0;
        Duration::try_from_secs_f64(seconds).map_err(|_| DURATION_FORM.to_string())
    } else {
        scale(number, unit_millis)
            .map(Duration::from_millis)
            .ok_or_else(|| format!("{DURATION_FORM}, shorter than 500 million years"))
    }
}

/// Parses `true` or `false` in any letter case.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if text.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(BOOL_FORM.to_string())
    }
}

/// Parses a non-negative decimal integer such as `2000000`.
pub fn parse_u64(text: &str) -> Result<u64, String> {
    text.trim().parse::<u64>().map_err(|_| INT_FORM.to_string())
}

/// Parses a TCP port from 1 to 65535.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(PORT_FORM.to_string()),
    }
}

/// Parses a ratio from 0 to 1 inclusive, such as `0.95`.
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(RATIO_FORM.to_string()),
    }
}

/// Formats a size for reports: `512B`, `1.50KB`, `64.00MB`.
pub fn format_bytes(bytes: u64) -> String {
    if bytes < KIB {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= KIB as f64 && unit + 1 < SIZE_UNITS.len() {
        value /= KIB as f64;
        unit += 1;
    }
    format!("{value:.2}{}", SIZE_UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_accepts_alluxio_forms() {
        let cases = [
            ("1024", 1024),
            ("0", 0),
            ("512B", 512),
            ("512b", 512),
            ("10KB", 10 * 1024),
            ("10k", 10 * 1024),
            ("64MB", 64 << 20),
            ("64mb", 64 << 20),
            ("64M", 64 << 20),
            ("64 MB", 64 << 20),
            (" 64\tMB ", 64 << 20),
            ("1GB", 1 << 30),
            ("1.5GB", 3 << 29),
            ("1.5 gb", 3 << 29),
            ("2TB", 2 << 40),
            ("1PB", 1 << 50),
            ("4GiB", 4 << 30),
            ("1.", 1),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_bytes(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bytes_rejects_bad_forms() {
        for text in [
            "", "MB", "abc", "-1", "1.2.3MB", "10XB", "1 0MB", ".5GB", "64MBs",
        ] {
            assert_eq!(parse_bytes(text), Err(BYTES_FORM.to_string()), "{text}");
        }
        assert!(parse_bytes("16384PB").is_err());
        assert!(parse_bytes("99999999999999999999").is_err());
    }

    #[test]
    fn duration_accepts_alluxio_forms() {
        let cases = [
            ("100", Duration::from_millis(100)),
            ("100ms", Duration::from_millis(100)),
            ("100 millis", Duration::from_millis(100)),
            ("1s", Duration::from_secs(1)),
            ("1sec", Duration::from_secs(1)),
            ("3 seconds", Duration::from_secs(3)),
            ("1.5sec", Duration::from_millis(1500)),
            ("5min", Duration::from_secs(300)),
            ("10m", Duration::from_secs(600)),
            ("10MIN", Duration::from_secs(600)),
            ("2h", Duration::from_secs(7200)),
            ("2hour", Duration::from_secs(7200)),
            ("1hr", Duration::from_secs(3600)),
            ("1day", Duration::from_secs(86_400)),
            ("2d", Duration::from_secs(172_800)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn duration_rejects_bad_forms() {
        for text in [
            "",
            "sec",
            "5 mins ago",
            "1w",
            "-5s",
            "1..5s",
            "five minutes",
        ] {
            assert_eq!(
                parse_duration(text),
                Err(DURATION_FORM.to_string()),
                "{text}"
            );
        }
        assert!(parse_duration("99999999999999999day").is_err());
    }

    #[test]
    fn bools_ints_ports_ratios() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool(" false "), Ok(false));
        assert_eq!(parse_bool("yes"), Err(BOOL_FORM.to_string()));
        assert_eq!(parse_u64("2000000"), Ok(2_000_000));
        assert!(parse_u64("-1").is_err());
        assert_eq!(parse_port("19998"), Ok(19998));
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert_eq!(parse_ratio("0.95"), Ok(0.95));
        assert_eq!(parse_ratio("1"), Ok(1.0));
        assert!(parse_ratio("1.01").is_err());
        assert!(parse_ratio("NaN").is_err());
    }

    #[test]
    fn formats_sizes_for_reports() {
        assert_eq!(format_bytes(512), "512B");
        assert_eq!(format_bytes(1536), "1.50KB");
        assert_eq!(format_bytes(64 << 20), "64.00MB");
        assert_eq!(format_bytes(3 << 29), "1.50GB");
        assert_eq!(format_bytes(u64::MAX), "16384.00PB");
    }
}
