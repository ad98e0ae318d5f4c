//! Secrets stay out of errors and `Debug`; resolving reads the named environment variable.

use kestrel_config::{Secret, parse_str};

use crate::edit;

/// A made-up 32-byte key; no test may see it echoed back.
const LITERAL_KEY: &str = "0x4c0883a69102937d6231471b5dbb6204fe512961708279f8c5b1d1f2a3b4c5d6";
const KEY_TAIL: &str = "4c0883a69102937d6231471b5dbb6204fe512961708279f8c5b1d1f2a3b4c5d6";

#[test]
fn a_literal_key_is_rejected_without_echoing_it() {
    for (old, path) in [
        ("key = \"env:KESTREL_SEARCHER_KEY\"", "signer.key"),
        ("key = \"env:KESTREL_RELAY_AUTH_KEY\"", "relay_auth.key"),
    ] {
        let text = edit(old, &format!("key = \"{LITERAL_KEY}\""));
        let errors = parse_str(&text).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].path, path);
        assert!(
            errors.0[0].message.contains("env:VAR"),
            "{}",
            errors.0[0].message
        );
        let shown = format!("{errors} {errors:?}");
        // Not even a fragment: 8 hex digits from anywhere in the key.
        for i in 0..KEY_TAIL.len() - 8 {
            assert!(
                !shown.contains(&KEY_TAIL[i..i + 8]),
                "key fragment leaked: {shown}"
            );
        }
    }
}

#[test]
fn a_malformed_env_reference_is_not_echoed() {
    let text = edit(
        "key = \"env:KESTREL_SEARCHER_KEY\"",
        &format!("key = \"env:{KEY_TAIL}\""),
    );
    let shown = parse_str(&text).unwrap_err().to_string();
    assert!(shown.starts_with("signer.key: "), "{shown}");
    assert!(!shown.contains(&KEY_TAIL[..8]), "{shown}");
}

#[test]
fn an_unquoted_key_is_a_syntax_error_that_does_not_echo_it() {
    // Pasting the key without quotes makes it a TOML number that cannot parse.
    let text = edit(
        "key = \"env:KESTREL_SEARCHER_KEY\"",
        &format!("key = {LITERAL_KEY}"),
    );
    let errors = parse_str(&text).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].path, "<toml>");
    let shown = format!("{errors} {errors:?}");
    assert!(!shown.contains(&KEY_TAIL[..8]), "{shown}");
}

#[test]
fn secret_debug_shows_only_the_reference() {
    let cfg = parse_str(crate::VALID).unwrap();
    assert_eq!(format!("{:?}", cfg.signer.key), "env:KESTREL_SEARCHER_KEY");
    assert_eq!(cfg.relay_auth.key.name(), "KESTREL_RELAY_AUTH_KEY");

    // Cargo sets CARGO_PKG_NAME for the test process; its value must never appear in Debug.
    let secret = Secret::env("CARGO_PKG_NAME").unwrap();
    let value = secret.resolve().unwrap();
    assert_eq!(value.expose(), env!("CARGO_PKG_NAME"));
    assert_eq!(format!("{secret:?}"), "env:CARGO_PKG_NAME");
    assert_eq!(format!("{value:?}"), "<redacted>");
    assert!(!format!("{secret:?}{value:?}").contains("kestrel-config"));
}

#[test]
fn resolving_a_missing_variable_names_it() {
    let name = "KESTREL_CONFIG_TEST_SURELY_UNSET_7D1F";
    assert!(
        std::env::var_os(name).is_none(),
        "test precondition: {name} is unset"
    );
    let error = Secret::env(name).unwrap().resolve().unwrap_err();
    assert_eq!(error.path, format!("env:{name}"));
    assert_eq!(
        error.message,
        format!("environment variable {name} is not set")
    );
}
