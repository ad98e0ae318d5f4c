//! Small typed readers over a parsed `toml::Table` that record every problem and keep going.
//!
//! A [`Section`] owns one table and removes keys as they are read, so whatever is left at
//! [`Section::finish`] is an unknown key. Readers take a [`Field`] (path + value) and return
//! `Option<T>`: `None` means "absent or invalid", and an invalid value has already been pushed
//! to [`Errors`]; the caller never reports it twice.

use std::ops::RangeInclusive;

use toml::{Table, Value};

use crate::secret::{ENV_PREFIX, is_env_name};
use crate::value::{self, Scheme};
use crate::{ConfigError, Secret};

/// The violations found so far.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<ConfigError>);

impl Errors {
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(ConfigError::new(path, message));
    }
}

/// One value and the key path it was found at.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) path: String,
    pub(crate) value: Value,
}

/// A table being read; see the module docs.
#[derive(Debug)]
pub(crate) struct Section {
    path: String,
    table: Table,
}

impl Section {
    pub(crate) fn root(table: Table) -> Self {
        Self {
            path: String::new(),
            table,
        }
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Type-checks a field as a table.
    pub(crate) fn from_field(errors: &mut Errors, field: Field) -> Option<Self> {
        match field.value {
            Value::Table(table) => Some(Self {
                path: field.path,
                table,
            }),
            other => {
                errors.push(&field.path, type_error("a table", &other));
                None
            }
        }
    }

    /// Whether `key` is present and not yet read.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    pub(crate) fn take(&mut self, key: &str) -> Option<Field> {
        let value = self.table.remove(key)?;
        Some(Field {
            path: join(&self.path, key),
            value,
        })
    }

    /// A key that must be present; its absence is reported.
    pub(crate) fn required<T>(
        &mut self,
        errors: &mut Errors,
        key: &str,
        read: impl FnOnce(&mut Errors, Field) -> Option<T>,
    ) -> Option<T> {
        match self.take(key) {
            Some(field) => read(errors, field),
            None => {
                errors.push(&join(&self.path, key), "missing required key");
                None
            }
        }
    }

    /// A key that may be absent (`None`); an invalid value is reported and also gives `None`.
    pub(crate) fn optional<T>(
        &mut self,
        errors: &mut Errors,
        key: &str,
        read: impl FnOnce(&mut Errors, Field) -> Option<T>,
    ) -> Option<T> {
        self.take(key).and_then(|field| read(errors, field))
    }

    /// A key with a default. An invalid value is reported; the default stands in for it so the
    /// rest of the config can still be checked.
    pub(crate) fn or<T>(
        &mut self,
        errors: &mut Errors,
        key: &str,
        default: T,
        read: impl FnOnce(&mut Errors, Field) -> Option<T>,
    ) -> T {
        self.optional(errors, key, read).unwrap_or(default)
    }

    /// A required sub-table such as `[chain]`.
    pub(crate) fn required_section(&mut self, errors: &mut Errors, key: &str) -> Option<Section> {
        match self.take(key) {
            Some(field) => Section::from_field(errors, field),
            None => {
                errors.push(
                    &join(&self.path, key),
                    format!("missing required table [{key}]"),
                );
                None
            }
        }
    }

    /// Reports every key nobody read.
    pub(crate) fn finish(self, errors: &mut Errors) {
        for key in self.table.keys() {
            errors.push(&join(&self.path, key), "unknown key");
        }
    }
}

/// `parent.key`, quoting keys that a TOML bare key could not spell.
pub(crate) fn join(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

fn type_error(expected: &str, got: &Value) -> String {
    format!("expected {expected}, got {}", got.type_str())
}

pub(crate) fn string(errors: &mut Errors, field: Field) -> Option<String> {
    match field.value {
        Value::String(s) => Some(s),
        other => {
            errors.push(&field.path, type_error("a string", &other));
            None
        }
    }
}

pub(crate) fn boolean(errors: &mut Errors, field: Field) -> Option<bool> {
    match field.value {
        Value::Boolean(b) => Some(b),
        other => {
            errors.push(&field.path, type_error("true or false", &other));
            None
        }
    }
}

/// A string with something other than whitespace in it.
pub(crate) fn non_empty(errors: &mut Errors, field: Field) -> Option<String> {
    let path = field.path.clone();
    let s = string(errors, field)?;
    if s.trim().is_empty() {
        errors.push(&path, "must not be empty");
        return None;
    }
    Some(s)
}

/// An integer in `range`, converted to `T` (the range must fit `T`).
pub(crate) fn int_in<T: TryFrom<i64>>(
    range: RangeInclusive<i64>,
) -> impl FnOnce(&mut Errors, Field) -> Option<T> {
    move |errors, field| {
        let n = match field.value {
            Value::Integer(n) => n,
            other => {
                errors.push(&field.path, type_error("an integer", &other));
                return None;
            }
        };
        let converted = range.contains(&n).then(|| T::try_from(n).ok()).flatten();
        if converted.is_none() {
            let (lo, hi) = (range.start(), range.end());
            let message = if *hi == i64::MAX {
                format!("must be >= {lo}, got {n}")
            } else {
                format!("must be in {lo}..={hi}, got {n}")
            };
            errors.push(&field.path, message);
        }
        converted
    }
}

/// A number: a TOML float, or an integer read as one. NaN and the infinities are refused.
pub(crate) fn float(errors: &mut Errors, field: Field) -> Option<f64> {
    let x = match field.value {
        Value::Float(x) => x,
        // Integers past 2^53 round to the nearest float: no threshold is that large.
        Value::Integer(n) => n as f64,
        other => {
            errors.push(&field.path, type_error("a number", &other));
            return None;
        }
    };
    if !x.is_finite() {
        errors.push(&field.path, format!("must be a finite number, got {x}"));
        return None;
    }
    Some(x)
}

/// A finite number for which `ok` holds; `rule` (`"> 0"`, `"in [0, 1]"`) says which in the
/// message.
pub(crate) fn float_where(
    ok: fn(f64) -> bool,
    rule: &'static str,
) -> impl FnOnce(&mut Errors, Field) -> Option<f64> {
    move |errors, field| {
        let path = field.path.clone();
        let x = float(errors, field)?;
        if !ok(x) {
            errors.push(&path, format!("must be {rule}, got {x}"));
            return None;
        }
        Some(x)
    }
}

/// Runs a string validator from [`crate::value`] on a string field.
fn parsed<T>(
    errors: &mut Errors,
    field: Field,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let path = field.path.clone();
    let s = string(errors, field)?;
    parse(&s)
        .map_err(|message| errors.push(&path, message))
        .ok()
}

pub(crate) fn address(errors: &mut Errors, field: Field) -> Option<kestrel_types::Address> {
    parsed(errors, field, value::address)
}

pub(crate) fn b256(errors: &mut Errors, field: Field) -> Option<kestrel_types::B256> {
    parsed(errors, field, value::b256)
}

/// A decimal string of wei. A bare TOML number is refused with a hint, because integers
/// above 2^63 and every float would silently lose precision.
pub(crate) fn wei(errors: &mut Errors, field: Field) -> Option<kestrel_types::U256> {
    if matches!(field.value, Value::Integer(_) | Value::Float(_)) {
        let got = field.value.type_str();
        errors.push(
            &field.path,
            format!("expected a decimal string of wei such as \"1000000000\", got {got}"),
        );
        return None;
    }
    parsed(errors, field, value::decimal_u256)
}

/// A URL of the given scheme; returns it with its host.
pub(crate) fn url(errors: &mut Errors, field: Field, scheme: Scheme) -> Option<(String, String)> {
    parsed(errors, field, |s| {
        value::url_host(s, scheme).map(|host| (s.to_owned(), host.to_owned()))
    })
}

/// A decimal string read exactly at `scale` (`"0.05"`); a digit past the scale is an error,
/// never rounded.
pub(crate) fn fixed(
    scale: kestrel_types::cex::Scale,
) -> impl FnOnce(&mut Errors, Field) -> Option<kestrel_types::cex::Fixed> {
    move |errors, field| {
        let path = field.path.clone();
        let text = string(errors, field)?;
        match kestrel_types::cex::Fixed::parse(text.as_bytes(), scale) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(
                    &path,
                    format!(
                        "expected a decimal string with at most {} fraction digits such as \"0.5\", \
                         got {text:?}: {e}",
                        scale.digits()
                    ),
                );
                None
            }
        }
    }
}

/// `env:VAR`. The message for anything else never contains the value: it may be a key.
pub(crate) fn secret(errors: &mut Errors, field: Field) -> Option<Secret> {
    let path = field.path.clone();
    let s = string(errors, field)?;
    match s.strip_prefix(ENV_PREFIX) {
        Some(name) if is_env_name(name) => Secret::env(name).ok(),
        Some(_) => {
            errors.push(
                &path,
                "env: reference must name a variable matching [A-Z_][A-Z0-9_]*",
            );
            None
        }
        None => {
            errors.push(
                &path,
                "must be an env:VAR reference such as \"env:KESTREL_SEARCHER_KEY\"; literal keys \
                 are not accepted in config files (the value is not shown)",
            );
            None
        }
    }
}

/// One of a fixed set of strings.
pub(crate) fn choice<T: Copy>(
    options: &'static [(&'static str, T)],
) -> impl FnOnce(&mut Errors, Field) -> Option<T> {
    move |errors, field| {
        let path = field.path.clone();
        let s = string(errors, field)?;
        let found = options
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, value)| *value);
        if found.is_none() {
            let names: Vec<String> = options
                .iter()
                .map(|(name, _)| format!("{name:?}"))
                .collect();
            errors.push(
                &path,
                format!("expected one of {}, got {s:?}", names.join(", ")),
            );
        }
        found
    }
}

/// An array whose items are read by `item` at paths `key[i]`. Invalid items are reported and
/// dropped.
pub(crate) fn array<T>(
    errors: &mut Errors,
    field: Field,
    mut item: impl FnMut(&mut Errors, Field) -> Option<T>,
) -> Option<Vec<T>> {
    let items = match field.value {
        Value::Array(items) => items,
        other => {
            errors.push(&field.path, type_error("an array", &other));
            return None;
        }
    };
    let path = field.path;
    let read = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, value)| {
            item(
                errors,
                Field {
                    path: format!("{path}[{i}]"),
                    value,
                },
            )
        })
        .collect();
    Some(read)
}

/// An array of tables (`[[key]]`), one [`Section`] per element.
pub(crate) fn tables(errors: &mut Errors, field: Field) -> Option<Vec<Section>> {
    if let Value::Table(_) = field.value {
        let key = field.path.clone();
        errors.push(
            &field.path,
            format!("expected an array of tables ([[{key}]]), got table"),
        );
        return None;
    }
    array(errors, field, Section::from_field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_quotes_keys_that_are_not_bare() {
        assert_eq!(join("", "chain"), "chain");
        assert_eq!(join("relays[0]", "bogus"), "relays[0].bogus");
        assert_eq!(join("hot", "a.b"), "hot.\"a.b\"");
        assert_eq!(join("hot", ""), "hot.\"\"");
    }

    #[test]
    fn int_in_reports_range_and_type() {
        let mut errors = Errors::default();
        let field = |value| Field {
            path: "x".into(),
            value,
        };
        assert_eq!(
            int_in::<u8>(2..=3)(&mut errors, field(Value::Integer(3))),
            Some(3)
        );
        assert_eq!(
            int_in::<u8>(2..=3)(&mut errors, field(Value::Integer(4))),
            None
        );
        assert_eq!(
            int_in::<u8>(2..=3)(&mut errors, field(Value::String("3".into()))),
            None
        );
        let messages: Vec<_> = errors.0.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            ["must be in 2..=3, got 4", "expected an integer, got string"]
        );
        let wide = int_in::<u64>(1..=i64::MAX)(&mut errors, field(Value::Integer(0)));
        assert_eq!(wide, None);
        assert_eq!(
            errors.0.last().map(|e| e.message.as_str()),
            Some("must be >= 1, got 0")
        );
    }
}
