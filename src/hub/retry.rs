//! When and how long the hub clients wait before retrying, so that many clients throttled at once
//! (up to 100 containers' orchestrator re-listing, several syncs) do not come back in step:
//! exponential backoff with full jitter, the server's `Retry-After` honoured in both RFC 9110
//! forms (delta-seconds and HTTP-date) plus a little jitter on top, ModelScope's `E1021`
//! throttle given more attempts and a longer floor, and a ceiling: a hub asking for a longer wait
//! than [`MAX_WAIT`] fails at once with that wait in the message, rather than hang a preflight.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Attempts for a retried request (first try included).
pub const ATTEMPTS: u32 = 3;
/// Attempts when ModelScope answers `E1021` (its throttle clears within seconds, not at once).
pub const E1021_ATTEMPTS: u32 = 6;
/// First backoff step; doubled per attempt up to [`MAX_BACKOFF`].
pub const BASE_BACKOFF: Duration = Duration::from_millis(200);
/// Largest backoff step without a `Retry-After`.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Floor of an `E1021` wait without a `Retry-After`.
pub const E1021_FLOOR: Duration = Duration::from_secs(1);
/// Longest wait honoured (the hubferry side reads during preflight and verification).
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// A uniformly random fraction in [0, 1), from the std hasher's per-process random keys and the
/// clock (no RNG dependency; not for anything but spreading retries).
fn random_unit() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Full jitter: uniform in [0, min(MAX_BACKOFF, BASE_BACKOFF·2^(attempt-1))].
pub fn backoff(attempt: u32, floor: Duration) -> Duration {
    let step = BASE_BACKOFF
        .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16))
        .min(MAX_BACKOFF);
    floor + step.mul_f64(random_unit())
}

/// The server's wait plus up to a quarter of it (at most 1 s) more, so clients told the same
/// moment do not all return at it.
pub fn after_server_wait(wait: Duration) -> Duration {
    wait + wait
        .mul_f64(0.25)
        .min(Duration::from_secs(1))
        .mul_f64(random_unit())
}

/// `Retry-After` as a wait from `now`: delta-seconds, or an HTTP-date (IMF-fixdate, RFC 850 or
/// asctime; a date in the past is a zero wait).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = http_date_unix(v)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    Some(Duration::from_secs_f64((at as f64 - now).max(0.0)))
}

fn month(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

/// Seconds since the epoch of an HTTP-date.
fn http_date_unix(v: &str) -> Option<i64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let (day, mon, year, time) = match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [_, d, m, y, t, "GMT"] => (d.parse().ok()?, month(m)?, y.parse().ok()?, *t),
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [_, dmy, t, "GMT"] => {
            let mut it = dmy.split('-');
            let d = it.next()?.parse().ok()?;
            let m = month(it.next()?)?;
            let y: i64 = it.next()?.parse().ok()?;
            (d, m, if y < 70 { 2000 + y } else { 1900 + y }, *t)
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [_, m, d, t, y] => (d.parse().ok()?, month(m)?, y.parse().ok()?, *t),
        _ => return None,
    };
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *h > 23 || *mi > 59 || *s > 60 {
        return None;
    }
    Some(days_from_civil(year, mon, day) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// True for ModelScope's throttle answer (a 429 whose body names `E1021`).
pub fn is_e1021(body: &str) -> bool {
    body.contains("E1021")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_both_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        for date in [
            "Sun, 06 Nov 1994 08:50:07 GMT",
            "Sunday, 06-Nov-94 08:50:07 GMT",
            "Sun Nov  6 08:50:07 1994",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(30)),
                "{date}"
            );
        }
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO),
            "a past date means now"
        );
        for bad in [
            "-1",
            "soon",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn backoff_is_jittered_within_its_bounds() {
        let waits: Vec<Duration> = (0..50).map(|_| backoff(3, Duration::ZERO)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(800)));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(
            distinct.len() > 10,
            "clients do not retry in step: {waits:?}"
        );
        assert!(backoff(30, Duration::ZERO) <= MAX_BACKOFF);
        assert!(backoff(1, E1021_FLOOR) >= E1021_FLOOR);
        let w = after_server_wait(Duration::from_secs(2));
        assert!(
            w >= Duration::from_secs(2) && w <= Duration::from_millis(2500),
            "{w:?}"
        );
    }
}
