//! Small text helpers the venue modules share: form parameters, percent coding, key checks.
//!
//! Everything here works on untrusted input and returns `Option` or `bool`; nothing panics.

use std::fmt;

/// True for a non-empty string of visible ASCII (`!` to `~`): what an API key must be to travel
/// in an HTTP header or a JSON string without escaping.
pub(crate) fn is_visible_ascii(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())
}

/// The first characters of an API key, enough to tell keys apart in a `Debug` line.
pub(crate) fn key_hint(api_key: &str) -> &str {
    clip(api_key, 4)
}

/// At most `max_chars` characters of `text`: bounds untrusted text echoed into a message.
pub(crate) fn clip(text: &str, max_chars: usize) -> &str {
    let end = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(index, _)| index);
    text.get(..end).unwrap_or("")
}

/// `Debug` helper that shows a length instead of the text (signed payloads stay out of logs).
pub(crate) struct Redacted(pub(crate) usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// `Debug` helper for an optional header: present (length only) or absent.
pub(crate) fn redacted(value: Option<&str>) -> Option<Redacted> {
    value.map(|v| Redacted(v.len()))
}

/// The `name=value` pairs of a form-encoded string, in order (empty pairs skipped).
fn pairs(params: &str) -> impl Iterator<Item = (&str, &str)> {
    params
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The raw (still percent-encoded) value of the first `name` parameter.
pub(crate) fn find_param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    pairs(params).find(|(key, _)| *key == name).map(|(_, v)| v)
}

/// How many times `name` appears as a parameter.
pub(crate) fn count_param(params: &str, name: &str) -> usize {
    pairs(params).filter(|(key, _)| *key == name).count()
}

/// `params` with every `name=...` pair removed, the other pairs kept byte for byte.
pub(crate) fn without_param(params: &str, name: &str) -> String {
    let mut out = String::with_capacity(params.len());
    let mut first = true;
    for pair in params.split('&') {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        if key == name {
            continue;
        }
        if !first {
            out.push('&');
        }
        first = false;
        out.push_str(pair);
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text: `%XX` escapes, and `+` as a space.
/// `None` for a malformed escape.
pub fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = hex_digit(*bytes.get(i + 1)?)?;
                let lo = hex_digit(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything but the RFC 3986 unreserved characters (upper-case escapes).
pub(crate) fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Compares two byte strings in time that depends on their lengths only.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Parses a plain decimal `u64`: digits only, no sign, no spaces, no overflow.
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_found_counted_and_removed() {
        let q = "a=1&signature=ff&b=&c=3&signature=ee";
        assert_eq!(find_param(q, "a"), Some("1"));
        assert_eq!(find_param(q, "b"), Some(""));
        assert_eq!(find_param(q, "signature"), Some("ff"));
        assert_eq!(find_param(q, "z"), None);
        assert_eq!(count_param(q, "signature"), 2);
        assert_eq!(without_param(q, "signature"), "a=1&b=&c=3");
        assert_eq!(without_param("signature=1", "signature"), "");
        assert_eq!(without_param("&a=1&&b", "signature"), "&a=1&&b");
    }

    #[test]
    fn percent_coding_round_trips_base64() {
        let b64 = "HZ8/ig+9J==";
        let encoded = percent_encode(b64);
        assert_eq!(encoded, "HZ8%2Fig%2B9J%3D%3D");
        assert_eq!(percent_decode(&encoded).as_deref(), Some(b64.as_bytes()));
        assert_eq!(percent_decode("a+b").as_deref(), Some(&b"a b"[..]));
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%zz"), None);
    }

    #[test]
    fn small_checks() {
        assert_eq!(key_hint("vmPUZE6mv9"), "vmPU");
        assert_eq!(key_hint("ab"), "ab");
        assert_eq!(key_hint("ééééé"), "éééé");
        assert!(is_visible_ascii("abc-123"));
        assert!(!is_visible_ascii("ab c"));
        assert!(!is_visible_ascii(""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert_eq!(parse_u64("1499827319559"), Some(1_499_827_319_559));
        assert_eq!(parse_u64("+1"), None);
        assert_eq!(parse_u64("99999999999999999999"), None);
    }
}
