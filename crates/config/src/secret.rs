//! Secrets in the config are references to environment variables, never values.
//!
//! A [`Secret`] names a variable; [`Secret::resolve`] reads it into a [`SecretValue`] whose
//! `Debug` is redacted and which has no `Display`, so neither can end up in a log by accident.

use std::fmt;

use crate::ConfigError;

/// The prefix that marks a secret reference in a config file.
pub(crate) const ENV_PREFIX: &str = "env:";

/// A reference to a secret held in an environment variable, written `env:NAME` in the config.
///
/// `Debug` prints `env:NAME` only; the value is read by [`Secret::resolve`] when needed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret {
    name: String,
}

impl Secret {
    /// A reference to the environment variable `name`, which must match `[A-Z_][A-Z0-9_]*`.
    pub fn env(name: &str) -> Result<Self, ConfigError> {
        if is_env_name(name) {
            Ok(Self {
                name: name.to_owned(),
            })
        } else {
            Err(ConfigError::new(
                "<secret>",
                "environment variable names must match [A-Z_][A-Z0-9_]*",
            ))
        }
    }

    /// The environment variable's name (not a secret).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the variable. A missing, non-UTF-8 or empty variable is an error that names the
    /// variable and never contains its value.
    pub fn resolve(&self) -> Result<SecretValue, ConfigError> {
        let path = format!("{ENV_PREFIX}{}", self.name);
        match std::env::var(&self.name) {
            Ok(value) if value.is_empty() => Err(ConfigError::new(
                path,
                format!("environment variable {} is empty", self.name),
            )),
            Ok(value) => Ok(SecretValue(value)),
            Err(std::env::VarError::NotPresent) => Err(ConfigError::new(
                path,
                format!("environment variable {} is not set", self.name),
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::new(
                path,
                format!("environment variable {} is not valid UTF-8", self.name),
            )),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ENV_PREFIX}{}", self.name)
    }
}

/// The value of a resolved secret. `Debug` prints `<redacted>`; there is no `Display`.
pub struct SecretValue(String);

impl SecretValue {
    /// The secret itself. Hand it straight to the signer; never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[A-Z_][A-Z0-9_]*`: the portable shell variable names, upper case only.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_uppercase() || b == b'_');
    first_ok && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_pattern() {
        for good in ["A", "_", "KESTREL_SEARCHER_KEY", "_X9", "K1_2"] {
            assert!(is_env_name(good), "{good}");
        }
        for bad in ["", "1A", "a", "KEY-1", "KEY 1", "Kestrel", "0xabc", "KÉY"] {
            assert!(!is_env_name(bad), "{bad}");
        }
    }

    #[test]
    fn secret_value_debug_is_redacted() {
        let value = SecretValue("0x4c0883a69102937d6231471b5dbb6204fe512961708279f".into());
        assert_eq!(format!("{value:?}"), "<redacted>");
        assert_eq!(
            value.expose(),
            "0x4c0883a69102937d6231471b5dbb6204fe512961708279f"
        );
    }

    #[test]
    fn env_rejects_bad_names() {
        assert!(Secret::env("lower").is_err());
        assert_eq!(
            Secret::env("KEY").map(|s| s.name().to_owned()),
            Ok("KEY".to_owned())
        );
    }
}
