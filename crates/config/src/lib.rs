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
    BackrunConfig, BinanceKeyKind, ChainConfig, Config, DexConfig, HotConfig, JournalConfig,
    ModeSetting, RelayConfig, RelayKind, RouterConfig, RouterKind, SignerConfig,
    StatArbCapitalBase, StatArbConfig, StatArbSelection, StatArbSignal, StatArbSizing,
    TelemetryConfig, UniversalRouterVersion, V2FactoryConfig, V3FactoryConfig, WaitSetting,
    XarbConfig, XarbVenueConfig,
};
pub use secret::{Secret, SecretValue};

/// Reads and validates a config file. An unreadable file is one error with path `<file>`.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(&text),
        Err(e) => Err(ConfigErrors(vec![ConfigError::new(
            "<file>",
            format!("cannot read {}: {e}", path.display()),
        )])),
    }
}

/// Validates config text. A TOML syntax error is one error,
/// `<toml>: line L column C: message`; otherwise every schema violation is listed.
pub fn parse_str(s: &str) -> Result<Config, ConfigErrors> {
    let table: toml::Table = s
        .parse()
        .map_err(|e| ConfigErrors(vec![syntax_error(s, &e)]))?;
    let mut errors = read::Errors::default();
    let config = parse::config(table, &mut errors);
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

/// Only the parser's short message is kept: its `Display` quotes the offending source line,
/// which could be a pasted key.
fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim_end();
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
