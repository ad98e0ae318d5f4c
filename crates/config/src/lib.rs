//! Kestrel's typed config: one TOML file, validated once, every violation reported together.
//!
//! This crate owns the schema (the structs in [`Config`] and below), its validation, the
//! `env:VAR` secret references, and writing a config back as TOML for the sandbox.
//!
//! Data flow: text → `toml::Table` (a syntax error stops here, as one `<toml>` error with its
//! line and column) → a walk over the table with small typed readers that push each problem,
//! with its key path (`relays[1].url`), into one list and keep going → cross-field checks
//! (live mode, unique names, `ws_url` or `ipc_path`) → a [`Config`] if the list is empty,
//! otherwise [`ConfigErrors`] with all of them. Unknown keys anywhere are errors.
//!
//! A config is either a full [`Config`] (the DEX backrun lane, with the exchange lanes beside
//! it) or a CEX-only [`CexConfig`] (only the exchange lanes, `[xarb]` and `[statarb]`).
//! [`parse_str`] and [`load_file`] read the full kind only; [`parse_any_str`] and
//! [`load_any_file`] tell the two apart by the top-level keys and return an [`AnyConfig`].
//!
//! Secrets never sit in the file: `key = "env:KESTREL_SEARCHER_KEY"` becomes a [`Secret`] that
//! names the variable, and [`Secret::resolve`] reads it only when the signer needs it.

#![forbid(unsafe_code)]

mod error;
mod model;
mod parse;
mod read;
mod secret;
mod value;
mod write;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors};
pub use model::{
    BackrunConfig, BinanceKeyKind, CexConfig, ChainConfig, Config, DexConfig, HotConfig,
    JournalConfig, ModeSetting, RelayConfig, RelayKind, RouterConfig, RouterKind, SignerConfig,
    StatArbCapitalBase, StatArbConfig, StatArbSelection, StatArbSignal, StatArbSizing,
    TelemetryConfig, UniversalRouterVersion, V2FactoryConfig, V3FactoryConfig, WaitSetting,
    XarbConfig, XarbVenueConfig,
};
pub use secret::{Secret, SecretValue};

/// A validated config of either kind: see [`parse_any_str`] for how the kind is chosen.
///
/// Not boxed: a config is built once at start-up and read by reference, so the size of the
/// enum does not matter, and matching on `Full(config)` stays plain.
#[allow(clippy::large_enum_variant)] // see above: built once, never moved in a hot path
#[derive(Clone, Debug, PartialEq)]
pub enum AnyConfig {
    /// A document with any of the backrun lane's top-level keys (`chain`, `dex`, `backrun`,
    /// `signer`, `relay_auth`, `relays`, `hot`), validated exactly as by [`parse_str`].
    Full(Config),
    /// A document with none of them: only the exchange lanes (at least one of them).
    CexOnly(CexConfig),
}

impl AnyConfig {
    /// `mode`.
    pub fn mode(&self) -> ModeSetting {
        match self {
            AnyConfig::Full(c) => c.mode,
            AnyConfig::CexOnly(c) => c.mode,
        }
    }

    /// `[journal]`.
    pub fn journal(&self) -> &JournalConfig {
        match self {
            AnyConfig::Full(c) => &c.journal,
            AnyConfig::CexOnly(c) => &c.journal,
        }
    }

    /// `[telemetry]`.
    pub fn telemetry(&self) -> &TelemetryConfig {
        match self {
            AnyConfig::Full(c) => &c.telemetry,
            AnyConfig::CexOnly(c) => &c.telemetry,
        }
    }

    /// `[xarb]`, when the cross-exchange lane is configured.
    pub fn xarb(&self) -> Option<&XarbConfig> {
        match self {
            AnyConfig::Full(c) => c.xarb.as_ref(),
            AnyConfig::CexOnly(c) => c.xarb.as_ref(),
        }
    }

    /// `[statarb]`, when the statistical-arbitrage lane is configured.
    pub fn statarb(&self) -> Option<&StatArbConfig> {
        match self {
            AnyConfig::Full(c) => c.statarb.as_ref(),
            AnyConfig::CexOnly(c) => c.statarb.as_ref(),
        }
    }

    /// The full config, or `None` for a CEX-only one (which has no backrun lane).
    pub fn as_full(&self) -> Option<&Config> {
        match self {
            AnyConfig::Full(c) => Some(c),
            AnyConfig::CexOnly(_) => None,
        }
    }

    /// Writes the config as TOML that [`parse_any_str`] reads back to an equal `AnyConfig`:
    /// [`to_toml_string`] or [`cex_to_toml_string`].
    pub fn to_toml_string(&self) -> String {
        match self {
            AnyConfig::Full(c) => to_toml_string(c),
            AnyConfig::CexOnly(c) => cex_to_toml_string(c),
        }
    }
}

/// Reads and validates a config file. An unreadable file is one error with path `<file>`.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    read_file(path).and_then(|text| parse_str(&text))
}

/// Reads and validates a config file of either kind ([`parse_any_str`]). An unreadable file
/// is one error with path `<file>`, as for [`load_file`].
pub fn load_any_file(path: &Path) -> Result<AnyConfig, ConfigErrors> {
    read_file(path).and_then(|text| parse_any_str(&text))
}

/// The file's text, or the one `<file>` error.
fn read_file(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            "<file>",
            format!("cannot read {}: {e}", path.display()),
        )])
    })
}

/// Validates config text. A TOML syntax error is one error,
/// `<toml>: line L column C: message`; otherwise every schema violation is listed.
pub fn parse_str(s: &str) -> Result<Config, ConfigErrors> {
    let table = parse_table(s)?;
    let mut errors = read::Errors::default();
    let config = parse::config(table, &mut errors);
    checked(config, errors)
}

/// Validates config text of either kind. A document with any of the top-level keys `chain`,
/// `dex`, `backrun`, `signer`, `relay_auth`, `relays` or `hot` is [`AnyConfig::Full`] and is
/// validated exactly as by [`parse_str`] (so a half-written backrun config reports its missing
/// sections). Any other is [`AnyConfig::CexOnly`]: `mode`, `[journal]`, `[telemetry]`,
/// `[xarb]` and `[statarb]`, at least one of the last two, and no other key. Errors are
/// reported as by [`parse_str`].
pub fn parse_any_str(s: &str) -> Result<AnyConfig, ConfigErrors> {
    let table = parse_table(s)?;
    let mut errors = read::Errors::default();
    if parse::is_full(&table) {
        let config = parse::config(table, &mut errors);
        checked(config, errors).map(AnyConfig::Full)
    } else {
        let config = parse::cex_config(table, &mut errors);
        checked(config, errors).map(AnyConfig::CexOnly)
    }
}

/// The TOML document, or its syntax error.
fn parse_table(s: &str) -> Result<toml::Table, ConfigErrors> {
    s.parse()
        .map_err(|e| ConfigErrors(vec![syntax_error(s, &e)]))
}

/// The validated config if no error was reported, otherwise every error.
fn checked<T>(config: Option<T>, errors: read::Errors) -> Result<T, ConfigErrors> {
    match config {
        Some(config) if errors.0.is_empty() => Ok(config),
        _ => {
            // Invariant: a `None` config always comes with at least one reported error.
            debug_assert!(
                !errors.0.is_empty(),
                "Invariant: no config without an error"
            );
            Err(ConfigErrors(errors.0))
        }
    }
}

/// Writes `cfg` as TOML that [`parse_str`] reads back to an equal `Config`. Every key is
/// written, defaults included, so the file documents what the engine will use.
pub fn to_toml_string(cfg: &Config) -> String {
    // A `Table` of strings, integers, finite floats, arrays and tables always serializes.
    toml::to_string(&write::to_table(cfg)).unwrap_or_default()
}

/// Writes a CEX-only `cfg` as TOML that [`parse_any_str`] reads back to an equal
/// [`AnyConfig::CexOnly`]. Every key is written, defaults included, as by [`to_toml_string`].
pub fn cex_to_toml_string(cfg: &CexConfig) -> String {
    // A `Table` of strings, integers, finite floats, arrays and tables always serializes.
    toml::to_string(&write::cex_to_table(cfg)).unwrap_or_default()
}

/// Only the parser's short message is kept: its `Display` quotes the offending source line,
/// which could be a pasted key.
fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let mut message = e.message().trim_end().to_owned();
    // A duplicate key is named when its span is a plain key name (never a value).
    if message == "duplicate key"
        && let Some(name) = e
            .span()
            .and_then(|span| text.get(span))
            .map(str::trim)
            .filter(|k| {
                !k.is_empty()
                    && k.len() <= 64
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
    {
        message = format!("duplicate key `{name}`");
    }
    let message = message.as_str();
    let location = e.span().map(|span| line_column(text, span.start));
    match location {
        Some((line, column)) => {
            ConfigError::new("<toml>", format!("line {line} column {column}: {message}"))
        }
        None => ConfigError::new("<toml>", message),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_is_one_based() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(text, 11), (2, 5));
    }

    #[test]
    fn a_duplicate_key_is_named() {
        let errors = parse_str("mode = \"dry-run\"\nmode = \"live\"\n").unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(
            errors.0[0].message, "line 2 column 1: duplicate key `mode`",
            "{:?}",
            errors.0
        );
        let errors = parse_str("[journal]\npath = \"a\"\npath = \"b\"\n").unwrap_err();
        assert!(
            errors.0[0].message.ends_with("duplicate key `path`"),
            "{:?}",
            errors.0
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let errors = parse_str("mode = \"live\"\nchain = [\n").unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].path, "<toml>");
        assert!(
            errors.0[0].message.starts_with("line 2 column"),
            "{}",
            errors.0[0].message
        );
    }
}
