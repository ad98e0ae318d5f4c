//! The line formats of the captures: cryptofeed's raw-data recorder and one-JSON-a-line dumps.
//!
//! cryptofeed writes one record a line:
//! - `<ws_url> <-> <unix_ts>`: the connection opened;
//! - `<ws_url> <- <unix_ts>: <json>`: a message the client sent;
//! - `<unix_ts>: <json>`: a message received, `unix_ts` the local receive time in float
//!   seconds;
//! - `<http_url> -> <unix_ts>: <json>`: a REST answer.

use std::path::Path;

use super::{LoadStats, ReplayError};

/// One capture file's bytes and a short name for locations.
#[derive(Clone, Debug)]
pub(super) struct File {
    name: String,
    bytes: Vec<u8>,
}

/// One line of a cryptofeed capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Line<'a> {
    /// A message received.
    Received {
        /// Receive time, Unix ms.
        at_ms: u64,
        /// The message.
        json: &'a str,
    },
    /// A REST answer.
    Rest {
        /// The request's URL.
        url: &'a str,
        /// Receive time, Unix ms.
        at_ms: u64,
        /// The answer's body.
        json: &'a str,
    },
    /// A connection mark or a message the client sent.
    Other,
}

impl File {
    /// Read `path` whole.
    pub(super) fn read(path: &Path) -> Result<File, ReplayError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(File {
                name: path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into(),
                ),
                bytes,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ReplayError::NotFound {
                path: path.to_path_buf(),
            }),
            Err(source) => Err(ReplayError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// A file made in memory (tests).
    #[cfg(test)]
    pub(super) fn from_text(name: &str, text: &str) -> File {
        File {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    /// `name:line`.
    pub(super) fn location(&self, line: usize) -> String {
        format!("{}:{line}", self.name)
    }

    /// Each non-empty line with its 1-based number, or `None` for one that is not UTF-8.
    pub(super) fn lines(&self) -> impl Iterator<Item = (usize, Option<&str>)> + '_ {
        self.bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .map(|(i, bytes)| (i + 1, std::str::from_utf8(bytes).ok().map(str::trim_end)))
            .filter(|(_, text)| text.is_none_or(|t| !t.is_empty()))
    }
}

/// Classify one cryptofeed line; `None` when it is none of the four shapes.
pub(super) fn cryptofeed_line(line: &str) -> Option<Line<'_>> {
    if line.starts_with(|c: char| c.is_ascii_digit()) {
        let (ts, json) = line.split_once(": ")?;
        return Some(Line::Received {
            at_ms: unix_ms(ts)?,
            json,
        });
    }
    let (url, rest) = line.split_once(' ')?;
    if rest.starts_with("<-> ") || rest.starts_with("<- ") {
        return Some(Line::Other);
    }
    let (ts, json) = rest.strip_prefix("-> ")?.split_once(": ")?;
    Some(Line::Rest {
        url,
        at_ms: unix_ms(ts)?,
        json,
    })
}

/// Count a line that is not the shape a reader wants: a readable one of another shape is
/// `other`, anything else `malformed`.
pub(super) fn count_unreadable(text: Option<&str>, stats: &mut LoadStats) {
    match text.and_then(cryptofeed_line) {
        Some(_) => stats.other += 1,
        None => stats.malformed += 1,
    }
}

/// Float seconds (`1633998512.0633569`) as whole milliseconds, truncated.
pub(super) fn unix_ms(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return None;
    }
    let mut ms: u64 = whole.parse::<u64>().ok()?.checked_mul(1000)?;
    let mut scale = 100;
    for b in fraction.bytes().take(3) {
        ms = ms.checked_add(u64::from(b - b'0') * scale)?;
        scale /= 10;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_line_shapes_are_told_apart() {
        let json = r#"{"a":1}"#;
        let received = format!("1633998512.0633569: {json}");
        assert_eq!(
            cryptofeed_line(&received),
            Some(Line::Received {
                at_ms: 1_633_998_512_063,
                json
            })
        );
        let rest = format!("https://x/api?symbol=A -> 1633998512.3: {json}");
        assert_eq!(
            cryptofeed_line(&rest),
            Some(Line::Rest {
                url: "https://x/api?symbol=A",
                at_ms: 1_633_998_512_300,
                json
            })
        );
        assert_eq!(
            cryptofeed_line("wss://x/stream <-> 1633998511.159679"),
            Some(Line::Other)
        );
        assert_eq!(
            cryptofeed_line(&format!("wss://x <- 1633998511.2: {json}")),
            Some(Line::Other)
        );
        for bad in [
            "",
            "garbage",
            "12x: {}",
            "1.2.3: {}",
            "wss://x -> nope: {}",
            "1633",
        ] {
            assert_eq!(cryptofeed_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_are_whole_milliseconds() {
        let cases = [
            ("1618678133", Some(1_618_678_133_000)),
            ("1618678133.5", Some(1_618_678_133_500)),
            ("1618678133.0001", Some(1_618_678_133_000)),
            ("1618678133.9999", Some(1_618_678_133_999)),
            ("1.", Some(1000)),
            (".5", None),
            ("-1", None),
            ("99999999999999999999", None),
        ];
        for (text, ms) in cases {
            assert_eq!(unix_ms(text), ms, "{text}");
        }
    }

    #[test]
    fn lines_are_numbered_and_bad_utf8_is_reported() {
        let mut file = File::from_text("f", "a\n\nb\n");
        file.bytes.extend_from_slice(b"\xff\xfe\n");
        let lines: Vec<_> = file.lines().collect();
        assert_eq!(lines, [(1, Some("a")), (3, Some("b")), (4, None)]);
        assert_eq!(file.location(3), "f:3");
    }
}
