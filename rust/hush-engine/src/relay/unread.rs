//! Why a flow's name could not be read from its first bytes, and the check
//! every name read from a flow passes before it is matched or logged.
//!
//! A flow that looked like TLS, HTTP or QUIC but gave no name is relayed on
//! what its address says; each such give-up is counted by reason in
//! [`Stats`](crate::Stats) and logged with it (the event's detail is
//! `unread:REASON`), so that a lack of names is never silent.

use std::borrow::Cow;
use std::net::IpAddr;

use hush_inspect::quic::{QuicError, QuicProgress};

use crate::stats::Stats;

/// Why inspection gave up on a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// The first bytes stopped mid-way and nothing more came in time.
    Timeout,
    /// The first bytes grew past what Hush reads, still incomplete (TCP),
    /// or the Initials spanned more datagrams than Hush holds (QUIC).
    TooLarge,
    /// The app closed its side before the first bytes were complete.
    AppClosed,
    /// A ClientHello, request head or QUIC Initial that does not parse.
    Malformed,
    /// A name that cannot be a host name (over 253 bytes, a bad label, bad
    /// characters): not matched, and not stored.
    InvalidName,
    /// A QUIC Initial that failed to decrypt.
    QuicUndecryptable,
    /// A QUIC version Hush cannot decrypt, or Google's legacy QUIC.
    QuicVersion,
}

impl Unread {
    /// The event detail: `unread:timeout`, `unread:too-large`,
    /// `unread:app-closed`, `unread:malformed`, `unread:invalid-name`,
    /// `unread:quic-undecryptable`, `unread:quic-version`.
    pub fn detail(self) -> &'static str {
        match self {
            Unread::Timeout => "unread:timeout",
            Unread::TooLarge => "unread:too-large",
            Unread::AppClosed => "unread:app-closed",
            Unread::Malformed => "unread:malformed",
            Unread::InvalidName => "unread:invalid-name",
            Unread::QuicUndecryptable => "unread:quic-undecryptable",
            Unread::QuicVersion => "unread:quic-version",
        }
    }

    /// The detail of a "strict" app's flow refused for this give-up, or
    /// (`None`) for a ClientHello or request that named nothing:
    /// `strict:REASON`, REASON as in [`Self::detail`], or `strict:no-name`.
    pub fn strict_detail(why: Option<Unread>) -> &'static str {
        match why {
            None => "strict:no-name",
            Some(Unread::Timeout) => "strict:timeout",
            Some(Unread::TooLarge) => "strict:too-large",
            Some(Unread::AppClosed) => "strict:app-closed",
            Some(Unread::Malformed) => "strict:malformed",
            Some(Unread::InvalidName) => "strict:invalid-name",
            Some(Unread::QuicUndecryptable) => "strict:quic-undecryptable",
            Some(Unread::QuicVersion) => "strict:quic-version",
        }
    }

    pub fn count(self, stats: &mut Stats) {
        let counter = match self {
            Unread::Timeout => &mut stats.unread_timeout,
            Unread::TooLarge => &mut stats.unread_too_large,
            Unread::AppClosed => &mut stats.unread_app_closed,
            Unread::Malformed => &mut stats.unread_malformed,
            Unread::InvalidName => &mut stats.unread_invalid_name,
            Unread::QuicUndecryptable => &mut stats.unread_quic_undecryptable,
            Unread::QuicVersion => &mut stats.unread_quic_version,
        };
        *counter += 1;
        log::debug!("inspection gave up: {}", self.detail());
    }

    /// Why a QUIC flow's Initials named nothing, when that was a give-up
    /// (not a ClientHello that simply carries no name).
    pub fn of_quic(progress: &QuicProgress) -> Option<Unread> {
        match progress {
            QuicProgress::Sni(_) | QuicProgress::NotQuic => None,
            QuicProgress::NeedMore => Some(Unread::TooLarge),
            QuicProgress::GoogleQuic => Some(Unread::QuicVersion),
            QuicProgress::Failed(QuicError::UnsupportedVersion(_)) => Some(Unread::QuicVersion),
            QuicProgress::Failed(QuicError::Decrypt) => Some(Unread::QuicUndecryptable),
            QuicProgress::Failed(_) => Some(Unread::Malformed),
        }
    }
}

/// The name a flow carried, in the form the lists and the log use: an IP
/// literal as it is, a domain name in lower-case ASCII (punycode for an
/// international one). A name that cannot be a host name is refused, so
/// that neither the matcher nor the log ever sees one.
pub(crate) fn checked_name(raw: Cow<'_, str>) -> Result<String, Unread> {
    if raw.parse::<IpAddr>().is_ok() {
        return Ok(raw.into_owned());
    }
    hush_rules::normalize_domain(&raw).map_err(|_| Unread::InvalidName)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_impossible_ones_refused() {
        let checked = |raw: &str| checked_name(Cow::Borrowed(raw));
        assert_eq!(
            checked("Tracker.Example.").as_deref(),
            Ok("tracker.example")
        );
        assert_eq!(
            checked("bücher.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        assert_eq!(checked("198.18.0.1").as_deref(), Ok("198.18.0.1"));
        assert_eq!(checked("fd00::1").as_deref(), Ok("fd00::1"));
        let long = format!("{}.tracker.example", "a.".repeat(130));
        assert_eq!(checked(&long), Err(Unread::InvalidName));
        let long_label = format!("{}.example", "a".repeat(64));
        assert_eq!(checked(&long_label), Err(Unread::InvalidName));
        assert_eq!(checked("a..example"), Err(Unread::InvalidName));
        assert_eq!(checked("evil\u{0}.example"), Err(Unread::InvalidName));
        assert_eq!(checked("a b.example"), Err(Unread::InvalidName));
        assert_eq!(checked(""), Err(Unread::InvalidName));
    }

    #[test]
    fn each_reason_has_its_own_counter() {
        let all = [
            Unread::Timeout,
            Unread::TooLarge,
            Unread::AppClosed,
            Unread::Malformed,
            Unread::InvalidName,
            Unread::QuicUndecryptable,
            Unread::QuicVersion,
        ];
        let mut stats = Stats::default();
        for (i, reason) in all.iter().enumerate() {
            for _ in 0..=i {
                reason.count(&mut stats);
            }
        }
        let counts = [
            stats.unread_timeout,
            stats.unread_too_large,
            stats.unread_app_closed,
            stats.unread_malformed,
            stats.unread_invalid_name,
            stats.unread_quic_undecryptable,
            stats.unread_quic_version,
        ];
        assert_eq!(counts, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(stats.unread(), 28);
        for reason in all {
            assert_eq!(
                Unread::strict_detail(Some(reason)).strip_prefix("strict:"),
                reason.detail().strip_prefix("unread:"),
            );
        }
        assert_eq!(Unread::strict_detail(None), "strict:no-name");
    }
}
