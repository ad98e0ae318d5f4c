//! Pure string validators for the scalar kinds the schema uses: addresses, hashes, decimal
//! amounts and URLs. Each returns the typed value or the message for a [`crate::ConfigError`].

use std::net::{Ipv4Addr, Ipv6Addr};

use kestrel_types::{Address, B256, U256};

/// The most decimal digits a `U256` can have (`2^256 - 1` has 78).
const U256_MAX_DIGITS: usize = 78;

/// `0x` + 40 hex digits. All-lower or all-upper case is accepted as is; mixed case must be a
/// correct EIP-55 checksum, because a mixed-case typo is exactly what the checksum catches.
pub(crate) fn address(s: &str) -> Result<Address, String> {
    let Some(digits) = s.strip_prefix("0x") else {
        return Err(format!(
            "expected a 20-byte hex address (0x + 40 hex digits), got {s:?}"
        ));
    };
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected a 20-byte hex address (0x + 40 hex digits), got {s:?}"
        ));
    }
    let parsed: Address = s
        .parse()
        .map_err(|_| format!("expected a 20-byte hex address, got {s:?}"))?;
    let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    let checksummed = parsed.to_checksum(None);
    if has_lower && has_upper && checksummed != s {
        return Err(format!(
            "address {s:?} has a wrong EIP-55 checksum; did you mean {checksummed}?"
        ));
    }
    Ok(parsed)
}

/// `0x` + 64 hex digits.
pub(crate) fn b256(s: &str) -> Result<B256, String> {
    let valid = s
        .strip_prefix("0x")
        .is_some_and(|digits| digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(format!(
            "expected a 32-byte hex hash (0x + 64 hex digits), got {s:?}"
        ));
    }
    s.parse()
        .map_err(|_| format!("expected a 32-byte hex hash, got {s:?}"))
}

/// Plain decimal digits only: no sign, point, exponent, underscore or `0x`, so `"1e18"` or
/// `"0.5"` cannot be misread as some other amount.
pub(crate) fn decimal_u256(s: &str) -> Result<U256, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected a non-negative whole number of wei as decimal digits, got {s:?}"
        ));
    }
    let significant = s.trim_start_matches('0');
    if significant.len() > U256_MAX_DIGITS {
        return Err(format!("{s:?} does not fit in 256 bits"));
    }
    U256::from_str_radix(s, 10).map_err(|_| format!("{s:?} does not fit in 256 bits"))
}

/// The URL schemes a key accepts, with the words used in messages.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scheme {
    /// `ws://` only: the pending stream is read by the hot thread, which does no TLS.
    Ws,
    /// `http://` or `https://`.
    Http,
    /// `ws://` or `wss://`, for an exchange's market data.
    VenueWs,
    /// `http://` or `https://`, for an exchange's REST API.
    VenueHttp,
}

impl Scheme {
    fn prefixes(self) -> &'static [&'static str] {
        match self {
            Scheme::Ws => &["ws://"],
            Scheme::Http => &["http://", "https://"],
            Scheme::VenueWs => &["ws://", "wss://"],
            Scheme::VenueHttp => &["http://", "https://"],
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Scheme::Ws => {
                "a ws:// URL (wss:// is refused: the hot thread does no TLS; run the node on \
                 this host or use chain.ipc_path)"
            }
            Scheme::Http => "an http:// or https:// URL",
            Scheme::VenueWs => "a ws:// or wss:// URL",
            Scheme::VenueHttp => "an http:// or https:// URL",
        }
    }
}

/// Checks scheme, host and port of a URL and returns its host (IPv6 hosts keep brackets).
pub(crate) fn url_host(s: &str, scheme: Scheme) -> Result<&str, String> {
    let rest = scheme
        .prefixes()
        .iter()
        .find_map(|prefix| strip_prefix_ignore_case(s, prefix))
        .ok_or_else(|| format!("expected {}, got {s:?}", scheme.expected()))?;
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("URL must not contain whitespace, got {s:?}"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) =
        split_host_port(host_port).ok_or_else(|| format!("URL has a malformed host, got {s:?}"))?;
    if host.is_empty() {
        return Err(format!("URL has no host, got {s:?}"));
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("URL port must be a number in 1..=65535, got {s:?}"));
    }
    Ok(host)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Splits `host[:port]` or `[v6][:port]`; `None` when brackets are unbalanced.
fn split_host_port(host_port: &str) -> Option<(&str, Option<&str>)> {
    if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        let host = host_port.get(..=close)?;
        let after = host_port.get(close + 1..)?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match host_port.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((host_port, None)),
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]`: hosts that cannot leave this machine.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    // A bare IPv6 host is not valid in a URL, so only IPv4 is parsed without brackets.
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_check_length_hex_and_checksum() {
        // EIP-55's own test vector.
        let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert!(address(good).is_ok());
        assert!(address(&good.to_lowercase()).is_ok());
        assert!(address(&format!("0x{}", good[2..].to_uppercase())).is_ok());
        let typo = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert!(address(typo).unwrap_err().contains("checksum"));
        for bad in [
            "",
            "0x",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x123",
            "0xzz",
        ] {
            assert!(address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_reject_everything_but_digits() {
        assert_eq!(decimal_u256("1000000000"), Ok(U256::from(1_000_000_000u64)));
        assert_eq!(decimal_u256("0"), Ok(U256::ZERO));
        assert_eq!(decimal_u256(&U256::MAX.to_string()), Ok(U256::MAX));
        // 2^256 itself overflows.
        let two_pow_256 =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert!(decimal_u256(two_pow_256).is_err());
        for bad in ["", "-1", "+1", "1.5", "1e18", "0x10", "1_000", " 1", "1 "] {
            assert!(decimal_u256(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_check_scheme_host_and_port() {
        assert_eq!(
            url_host("http://127.0.0.1:8545", Scheme::Http),
            Ok("127.0.0.1")
        );
        assert_eq!(
            url_host("HTTPS://relay.example/x?y", Scheme::Http),
            Ok("relay.example")
        );
        assert_eq!(url_host("ws://[::1]:8546/", Scheme::Ws), Ok("[::1]"));
        assert_eq!(
            url_host("ws://u:p@node.example", Scheme::Ws),
            Ok("node.example")
        );
        let err = url_host("wss://node.example", Scheme::Ws).unwrap_err();
        assert!(err.contains("wss:// is refused"), "{err}");
        assert_eq!(
            url_host("ftp://x", Scheme::Http),
            Err("expected an http:// or https:// URL, got \"ftp://x\"".to_owned())
        );
        for bad in [
            "ws://x",
            "http://",
            "http://:80",
            "http://h:0",
            "http://h:99999",
            "http://a b",
        ] {
            assert!(url_host(bad, Scheme::Http).is_err(), "{bad}");
        }
        assert!(url_host("http://x", Scheme::Ws).is_err());
        assert!(url_host("ws://[::1", Scheme::Ws).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "128.0.0.1",
            "10.0.0.1",
            "example.com",
            "[::2]",
            "::1",
            "localhost.evil",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
