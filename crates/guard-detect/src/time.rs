//! ISO-8601 UTC timestamps (`2024-01-02T03:04:05Z`, optional fraction) to Unix seconds and
//! back, as CloudTrail, Resolver logs and findings write them. Hand-written: the formats
//! are fixed and the civil-date arithmetic is a dozen lines.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|+00:00]` (a space instead of `T` is accepted) into
/// Unix milliseconds. Offsets other than UTC are applied.
pub fn parse_iso_millis(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b.get(i).copied().unwrap_or(b'0') - b'0');
            }
            i += 1;
        }
        for _ in (i - start).min(3)..3 {
            millis *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        None | Some(b'Z') | Some(b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6).unwrap_or(0);
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        Some(_) => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
    Some(secs * 1000 + millis)
}

/// Parses an ISO timestamp into Unix seconds.
pub fn parse_iso(s: &str) -> Option<i64> {
    parse_iso_millis(s).map(|ms| ms.div_euclid(1000))
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SS.000Z` (GuardDuty's `createdAt` form).
pub fn format_iso_millis(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        r / 3600,
        (r / 60) % 60,
        r % 60
    )
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (CloudTrail's `eventTime` form).
pub fn format_iso(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        r / 3600,
        (r / 60) % 60,
        r % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso("2014-12-14T04:06:50Z"), Some(1_418_530_010));
        assert_eq!(
            parse_iso_millis("2020-02-14T18:12:22.316Z"),
            Some(1_581_703_942_316)
        );
        assert_eq!(parse_iso("2022-06-25 00:27:53"), Some(1_656_116_873));
        assert_eq!(
            parse_iso("2020-01-01T01:00:00+01:00"),
            parse_iso("2020-01-01T00:00:00Z")
        );
        assert_eq!(format_iso_millis(1_418_530_010), "2014-12-14T04:06:50.000Z");
        assert_eq!(format_iso(0), "1970-01-01T00:00:00Z");
        for bad in [
            "",
            "2020-13-01T00:00:00Z",
            "yesterday",
            "2020-01-01T00:00:00Q",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trip(secs in -5_000_000_000i64..10_000_000_000i64) {
            proptest::prop_assert_eq!(parse_iso(&format_iso(secs)), Some(secs));
            proptest::prop_assert_eq!(parse_iso(&format_iso_millis(secs)), Some(secs));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_iso_millis(&s);
        }
    }
}
