//! Formatting shared by the reports: permission strings, times and sizes in
//! the forms Alluxio's CLI prints.

use alluxio_common::config::format_bytes;
use alluxio_proto::{FileInfo, FileType};

/// Whether `info` is a directory.
pub fn is_dir(info: &FileInfo) -> bool {
    info.file_type == FileType::Directory as i32
}

/// `drwxr-xr-x` style permissions, with `s`/`t` for set-id and sticky bits.
pub fn mode_string(info: &FileInfo) -> String {
    let kind = match FileType::try_from(info.file_type) {
        Ok(FileType::Directory) => 'd',
        Ok(FileType::Symlink) => 'l',
        Ok(FileType::Fifo) => 'p',
        Ok(FileType::Socket) => 's',
        Ok(FileType::CharDevice) => 'c',
        Ok(FileType::BlockDevice) => 'b',
        _ => '-',
    };
    let mode = info.mode;
    let mut out = String::with_capacity(10);
    out.push(kind);
    for (shift, special, set_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        let exec = bits & 1 != 0;
        out.push(match (mode & special != 0, exec) {
            (true, true) => set_char,
            (true, false) => set_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    out
}

/// A size as a plain byte count, or as `1.50KB` when `human`.
pub fn size(bytes: u64, human: bool) -> String {
    if human {
        format_bytes(bytes)
    } else {
        bytes.to_string()
    }
}

/// Milliseconds since the epoch as `MM-dd-yyyy HH:mm:ss:SSS` (UTC), the
/// pattern of Alluxio's listings.
pub fn time_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{month:02}-{day:02}-{year:04} {:02}:{:02}:{:02}:{millis:03}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Nanoseconds since the epoch, formatted as [`time_ms`].
pub fn time_ns(ns: i64) -> String {
    time_ms(ns.div_euclid(1_000_000))
}

/// A duration as Alluxio reports uptime: `1 day(s), 2 hour(s), 3 minute(s),
/// and 4 second(s)`.
pub fn uptime(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!(
        "{} day(s), {} hour(s), {} minute(s), and {} second(s)",
        s / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Percentage `part / whole`, 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        0
    } else {
        (part as u128 * 100 / whole as u128) as u64
    }
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm, valid for the whole proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(file_type: FileType, mode: u32) -> FileInfo {
        FileInfo {
            file_type: file_type as i32,
            mode,
            ..Default::default()
        }
    }

    #[test]
    fn modes() {
        assert_eq!(mode_string(&info(FileType::Directory, 0o755)), "drwxr-xr-x");
        assert_eq!(mode_string(&info(FileType::Regular, 0o644)), "-rw-r--r--");
        assert_eq!(
            mode_string(&info(FileType::Directory, 0o1777)),
            "drwxrwxrwt"
        );
        assert_eq!(mode_string(&info(FileType::Regular, 0o4644)), "-rwSr--r--");
    }

    #[test]
    fn times() {
        assert_eq!(time_ms(0), "01-01-1970 00:00:00:000");
        assert_eq!(time_ms(1_575_971_833_536), "12-10-2019 09:57:13:536");
        assert_eq!(time_ms(951_782_400_000), "02-29-2000 00:00:00:000");
        assert_eq!(time_ms(-1), "12-31-1969 23:59:59:999");
        assert_eq!(
            uptime(90_061_000),
            "1 day(s), 1 hour(s), 1 minute(s), and 1 second(s)"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size(1536, false), "1536");
        assert_eq!(size(1536, true), "1.50KB");
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(5, 0), 0);
    }
}
