//! Request times: parsing `X-Amz-Date` / `Date`, and checking them against the server clock.
//!
//! The bounds are inclusive: a request signed exactly 15 minutes before or after `now` is
//! accepted, one second more is not. The same holds at the end of a presigned URL's window.

use time::format_description::FormatItem;
use time::format_description::well_known::Rfc2822;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::error::{SigV4Error, clip};
use super::{AuthLocation, ParsedAuth};

/// How far a request time may be from the server clock (AWS allows 15 minutes).
pub(crate) const MAX_SKEW: Duration = Duration::minutes(15);

/// The longest validity a presigned URL may ask for: one week, in seconds.
pub(crate) const MAX_EXPIRES_SECS: i64 = 604_800;

/// `X-Amz-Date`: ISO 8601 basic format, always UTC.
const AMZ_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// `Date`: the IMF-fixdate form of RFC 7231 (RFC 1123), always GMT.
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Checks the request time of `auth` against the server clock `now`.
///
/// Header form: `request_time` must be within ±15 minutes of `now`. Presigned form: `now` must
/// be no earlier than `request_time - 15 min` (clock skew) and no later than
/// `request_time + expires`.
pub fn check_time(auth: &ParsedAuth, now: OffsetDateTime) -> Result<(), SigV4Error> {
    let request_time = auth.request_time;
    // Checked arithmetic: the request time is client-chosen and may sit at the end of the
    // representable range, where a bound that overflows is simply no bound.
    if let Some(earliest) = request_time.checked_sub(MAX_SKEW)
        && now < earliest
    {
        return Err(SigV4Error::SignatureNotYetCurrent { request_time, now });
    }
    match (auth.location, auth.expires) {
        (AuthLocation::Query, Some(expires)) => {
            if let Some(valid_until) = request_time.checked_add(expires)
                && now > valid_until
            {
                return Err(SigV4Error::PresignedUrlExpired { valid_until });
            }
        }
        // A query-form auth without an expiry cannot come out of `parse`; treat it like the
        // header form rather than as valid forever.
        _ => {
            if let Some(latest) = request_time.checked_add(MAX_SKEW)
                && now > latest
            {
                return Err(SigV4Error::SignatureExpired { request_time, now });
            }
        }
    }
    Ok(())
}

/// Parses an `X-Amz-Date` value (`20261129T120000Z`).
pub(crate) fn parse_amz_date(value: &str) -> Result<OffsetDateTime, SigV4Error> {
    PrimitiveDateTime::parse(value, AMZ_DATE)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| SigV4Error::MalformedDate { value: clip(value) })
}

/// Parses a `Date` header value: RFC 2822 (`Sun, 29 Nov 2026 12:00:00 -0000`, what botocore
/// writes) or the HTTP IMF-fixdate (`Sun, 29 Nov 2026 12:00:00 GMT`).
pub(crate) fn parse_http_date(value: &str) -> Result<OffsetDateTime, SigV4Error> {
    let value = value.trim();
    OffsetDateTime::parse(value, &Rfc2822)
        .or_else(|_| PrimitiveDateTime::parse(value, HTTP_DATE).map(PrimitiveDateTime::assume_utc))
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| SigV4Error::MalformedDate { value: clip(value) })
}

/// The `yyyymmdd` date of a request time, as the credential scope must carry it.
pub(crate) fn scope_date(t: OffsetDateTime) -> String {
    let d = t.to_offset(time::UtcOffset::UTC).date();
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Whether `s` is the `yyyymmdd` date of a request time: [`scope_date`] compared in place,
/// without building the string (every signed request checks it).
pub(crate) fn is_scope_date(s: &str, t: OffsetDateTime) -> bool {
    let d = t.to_offset(time::UtcOffset::UTC).date();
    let Ok(year) = u32::try_from(d.year()) else {
        return s == scope_date(t);
    };
    if year > 9999 {
        return s == scope_date(t);
    }
    let (month, day) = (u32::from(u8::from(d.month())), u32::from(d.day()));
    let digits = [
        year / 1000,
        year / 100 % 10,
        year / 10 % 10,
        year % 10,
        month / 10,
        month % 10,
        day / 10,
        day % 10,
    ];
    s.len() == digits.len()
        && s.bytes()
            .zip(digits)
            .all(|(b, n)| u32::from(b) == u32::from(b'0') + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::CredentialScope;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn auth_at(t: OffsetDateTime, expires: Option<Duration>) -> ParsedAuth {
        ParsedAuth {
            access_key_id: "AKIDEXAMPLE".into(),
            scope: CredentialScope {
                date: scope_date(t),
                region: "us-east-1".into(),
                service: "kms".into(),
            },
            signed_headers: vec!["host".into(), "x-amz-date".into()],
            signature: "0".repeat(64),
            request_time: t,
            session_token: None,
            expires,
            location: if expires.is_some() {
                AuthLocation::Query
            } else {
                AuthLocation::Header
            },
        }
    }

    const T0: OffsetDateTime = datetime!(2026-11-29 12:00:00 UTC);

    #[test]
    fn parses_both_date_forms() {
        assert_eq!(parse_amz_date("20261129T120000Z"), Ok(T0));
        assert_eq!(parse_http_date("Sun, 29 Nov 2026 12:00:00 GMT"), Ok(T0));
        assert_eq!(parse_http_date("Sun, 29 Nov 2026 12:00:00 -0000"), Ok(T0));
        assert_eq!(parse_http_date("Sun, 29 Nov 2026 13:00:00 +0100"), Ok(T0));
        for bad in [
            "20261129T120000",
            "2026-11-29T12:00:00Z",
            "20261329T120000Z",
            "",
        ] {
            assert!(
                matches!(parse_amz_date(bad), Err(SigV4Error::MalformedDate { .. })),
                "{bad}"
            );
        }
        assert!(parse_http_date("Sun, 29 Nov 2026 12:00:00 nowhere").is_err());
        assert_eq!(scope_date(T0), "20261129");
        assert!(is_scope_date("20261129", T0));
        assert!(!is_scope_date("20261128", T0));
        assert!(!is_scope_date("2026112", T0));
        assert!(!is_scope_date("202611290", T0));
        assert!(!is_scope_date("2026-11-", T0));
    }

    #[test]
    fn header_form_rejects_both_directions() {
        let auth = auth_at(T0, None);
        let late = check_time(&auth, T0 + Duration::minutes(16));
        assert!(matches!(late, Err(SigV4Error::SignatureExpired { .. })));
        let early = check_time(&auth, T0 - Duration::minutes(16));
        assert!(matches!(
            early,
            Err(SigV4Error::SignatureNotYetCurrent { .. })
        ));
        assert_eq!(late.map_err(|e| e.code()), Err("RequestExpired"));
    }

    #[test]
    fn end_of_time_does_not_overflow() {
        let last = parse_amz_date("99991231T235959Z").unwrap();
        let auth = auth_at(last, Some(Duration::seconds(MAX_EXPIRES_SECS)));
        assert_eq!(check_time(&auth, last), Ok(()));
        assert!(check_time(&auth_at(last, None), T0).is_err());
        let first = parse_amz_date("00000101T000000Z").unwrap();
        assert!(check_time(&auth_at(first, None), T0).is_err());
    }

    #[test]
    fn presigned_window_ends_at_expiry_not_at_skew() {
        let auth = auth_at(T0, Some(Duration::hours(1)));
        assert_eq!(check_time(&auth, T0 + Duration::minutes(59)), Ok(()));
        assert_eq!(check_time(&auth, T0 + Duration::hours(1)), Ok(()));
        let after = check_time(&auth, T0 + Duration::hours(1) + Duration::SECOND);
        assert!(matches!(after, Err(SigV4Error::PresignedUrlExpired { .. })));
        assert_eq!(check_time(&auth, T0 - MAX_SKEW), Ok(()));
        let before = check_time(&auth, T0 - MAX_SKEW - Duration::SECOND);
        assert!(matches!(
            before,
            Err(SigV4Error::SignatureNotYetCurrent { .. })
        ));
    }

    proptest! {
        /// The ±15 minute edges are inclusive, to the nanosecond, wherever the request lands.
        #[test]
        fn skew_edges_are_exact(
            secs in 0i64..4_000_000_000,
            nanos in 0i64..1_000_000_000,
        ) {
            let t = OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs);
            let auth = auth_at(t, None);
            let tick = Duration::nanoseconds(nanos.max(1));
            prop_assert_eq!(check_time(&auth, t + MAX_SKEW), Ok(()));
            prop_assert_eq!(check_time(&auth, t - MAX_SKEW), Ok(()));
            prop_assert_eq!(check_time(&auth, t + Duration::nanoseconds(nanos)), Ok(()));
            prop_assert!(
                matches!(check_time(&auth, t + MAX_SKEW + tick),
                    Err(SigV4Error::SignatureExpired { .. })),
                "expired"
            );
            prop_assert!(
                matches!(check_time(&auth, t - MAX_SKEW - tick),
                    Err(SigV4Error::SignatureNotYetCurrent { .. })),
                "not yet current"
            );
        }

        /// The in-place date check agrees with the formatted date, for it and its neighbours.
        #[test]
        fn is_scope_date_agrees_with_scope_date(secs in -62_000_000_000i64..250_000_000_000) {
            let t = OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs);
            prop_assert!(is_scope_date(&scope_date(t), t));
            prop_assert!(!is_scope_date(&scope_date(t + Duration::days(1)), t));
            prop_assert!(!is_scope_date(&scope_date(t - Duration::days(1)), t));
        }

        /// A presigned URL is valid exactly on `[t - 15 min, t + expires]`.
        #[test]
        fn presigned_edges_are_exact(secs in 0i64..4_000_000_000, expires in 1i64..=MAX_EXPIRES_SECS) {
            let t = OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs);
            let auth = auth_at(t, Some(Duration::seconds(expires)));
            prop_assert_eq!(check_time(&auth, t + Duration::seconds(expires)), Ok(()));
            prop_assert_eq!(check_time(&auth, t - MAX_SKEW), Ok(()));
            prop_assert!(check_time(&auth, t + Duration::seconds(expires + 1)).is_err());
            prop_assert!(check_time(&auth, t - MAX_SKEW - Duration::SECOND).is_err());
        }
    }
}
