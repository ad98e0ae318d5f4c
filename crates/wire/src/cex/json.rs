//! A small, strict, borrowing JSON scanner for exchange frames.
//!
//! `serde_json` spends most of a small frame's time on generic machinery; exchange book frames
//! are a handful of known keys around arrays of decimal strings, so a cursor that visits object
//! fields by key and hands back borrowed slices is several times faster and allocates nothing.
//! It accepts only JSON (any field order, any whitespace) and never panics: every index is
//! checked, nesting is bounded, and a malformed frame is a [`CexError::Malformed`] carrying the
//! byte offset.

use super::CexError;

/// Deepest nesting [`Scan::skip_value`] follows; deeper input is rejected, not recursed into.
const MAX_DEPTH: u32 = 32;

/// A cursor over one JSON text.
#[derive(Debug, Clone)]
pub struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Scan<'a> {
        Scan { bytes, at: 0 }
    }

    /// The error for "something unexpected here".
    pub fn malformed(&self) -> CexError {
        CexError::Malformed {
            offset: u32::try_from(self.at).unwrap_or(u32::MAX),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.at) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.at).copied()
    }

    /// Consume `expected` (after whitespace) or fail.
    pub fn eat(&mut self, expected: u8) -> Result<(), CexError> {
        if self.peek() == Some(expected) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.malformed())
        }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// A string's raw contents, without the quotes. Escapes are kept as written (`\"` stays two
    /// bytes): no key or number Kestrel reads contains one, and borrowing needs no copy.
    pub fn string(&mut self) -> Result<&'a [u8], CexError> {
        self.eat(b'"')?;
        let start = self.at;
        loop {
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    let text = self.bytes.get(start..self.at).ok_or(self.malformed())?;
                    self.at += 1;
                    return Ok(text);
                }
                Some(b'\\') => self.at += 2,
                Some(b) if *b < 0x20 => return Err(self.malformed()),
                Some(_) => self.at += 1,
                None => return Err(self.malformed()),
            }
        }
    }

    /// A number token as written (`-12.5e3`), unvalidated beyond its characters.
    pub fn number(&mut self) -> Result<&'a [u8], CexError> {
        self.skip_ws();
        let start = self.at;
        while let Some(&b) = self.bytes.get(self.at) {
            if b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.at += 1;
            } else {
                break;
            }
        }
        if self.at == start {
            return Err(self.malformed());
        }
        self.bytes.get(start..self.at).ok_or(self.malformed())
    }

    /// A decimal given either as a string (`"0.1"`, most venues) or a bare number (Kraken).
    pub fn decimal(&mut self) -> Result<&'a [u8], CexError> {
        if self.peek() == Some(b'"') {
            self.string()
        } else {
            self.number()
        }
    }

    /// An unsigned integer, as a number or a numeric string (OKX sends ids as strings).
    pub fn u64(&mut self) -> Result<u64, CexError> {
        let text = self.decimal()?;
        parse_u64(text).ok_or(self.malformed())
    }

    /// A signed integer, as a number or a numeric string (OKX's checksum is a signed int32).
    pub fn i64(&mut self) -> Result<i64, CexError> {
        let text = self.decimal()?;
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let magnitude = i64::try_from(parse_u64(digits).ok_or(self.malformed())?)
            .map_err(|_| self.malformed())?;
        Ok(if negative { -magnitude } else { magnitude })
    }

    /// `true`, `false`, or fail.
    pub fn bool(&mut self) -> Result<bool, CexError> {
        self.skip_ws();
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        if rest.starts_with(b"true") {
            self.at += 4;
            Ok(true)
        } else if rest.starts_with(b"false") {
            self.at += 5;
            Ok(false)
        } else {
            Err(self.malformed())
        }
    }

    /// Consume `null` if it is next; report whether it was.
    pub fn null(&mut self) -> bool {
        self.skip_ws();
        if self
            .bytes
            .get(self.at..)
            .unwrap_or_default()
            .starts_with(b"null")
        {
            self.at += 4;
            true
        } else {
            false
        }
    }

    /// Skip any one value, returning the raw bytes it spanned (for a lazily read array).
    pub fn skip_value(&mut self) -> Result<&'a [u8], CexError> {
        self.skip_ws();
        let start = self.at;
        self.skip_nested(0)?;
        self.bytes.get(start..self.at).ok_or(self.malformed())
    }

    fn skip_nested(&mut self, depth: u32) -> Result<(), CexError> {
        if depth > MAX_DEPTH {
            return Err(CexError::TooDeep);
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(|_, scan| scan.skip_nested(depth + 1)),
            Some(b'[') => self.array(|scan| scan.skip_nested(depth + 1)),
            Some(b't' | b'f') => self.bool().map(drop),
            Some(b'n') if self.null() => Ok(()),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            _ => Err(self.malformed()),
        }
    }

    /// Visit each field of an object: `field(key, scan)` must consume exactly the value.
    pub fn object(
        &mut self,
        mut field: impl FnMut(&'a [u8], &mut Scan<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            field(key, self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.malformed()),
            }
        }
    }

    /// Visit each element of an array: `element(scan)` must consume exactly one value.
    pub fn array(
        &mut self,
        mut element: impl FnMut(&mut Scan<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            element(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.malformed()),
            }
        }
    }
}

/// Digits only, no sign, fits `u64`.
pub fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The levels of one book side as the frame wrote them, read lazily: `[["price","size",..],..]`
/// (Binance, Bybit; OKX's extra elements are skipped). The bytes were checked to be one JSON
/// value when the frame was decoded; iteration still checks every step and yields an error
/// rather than panicking.
#[derive(Debug, Clone, Copy, Default)]
pub struct PairLevels<'a> {
    raw: &'a [u8],
}

impl<'a> PairLevels<'a> {
    /// Wrap the raw bytes of an array of `[price, size, ..]` arrays.
    pub fn new(raw: &'a [u8]) -> PairLevels<'a> {
        PairLevels { raw }
    }

    /// No levels at all (`[]` or absent).
    pub fn is_empty(&self) -> bool {
        self.raw
            .iter()
            .all(|b| matches!(b, b'[' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
    }

    /// Call `level(price, size)` for each level in order.
    pub fn for_each(
        &self,
        mut level: impl FnMut(&'a [u8], &'a [u8]) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        if self.raw.is_empty() {
            return Ok(());
        }
        let mut scan = Scan::new(self.raw);
        scan.array(|scan| {
            scan.eat(b'[')?;
            let price = scan.decimal()?;
            scan.eat(b',')?;
            let size = scan.decimal()?;
            while scan.peek() == Some(b',') {
                scan.eat(b',')?;
                scan.skip_value()?;
            }
            scan.eat(b']')?;
            level(price, size)
        })
    }
}
