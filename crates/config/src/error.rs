//! The error types: one [`ConfigError`] per violation, all of them collected in [`ConfigErrors`].

use std::fmt;

/// One violation of the config schema, located by its key path (`relays[1].url`).
///
/// The message never contains the value of a secret; see [`crate::Secret`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where the problem is: a dotted key path with `[i]` for array elements, or one of the
    /// pseudo paths `<file>` (the file could not be read), `<toml>` (TOML syntax) and
    /// `env:NAME` (resolving a secret).
    pub path: String,
    /// What is wrong and, where it helps, what was expected.
    pub message: String,
}

impl ConfigError {
    /// Builds an error from anything string-like.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every violation found in one config, in the order the validator met them.
///
/// **Invariant:** never empty when returned as the `Err` of [`crate::parse_str`],
/// [`crate::load_file`], [`crate::parse_any_str`] or [`crate::load_any_file`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    /// One error per line, so `kestrel check-config` can print it as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_path_colon_message_one_per_line() {
        let errors = ConfigErrors(vec![
            ConfigError::new("chain.chain_id", "must be > 0"),
            ConfigError::new("relays[1].url", "bad"),
        ]);
        assert_eq!(errors.0[0].to_string(), "chain.chain_id: must be > 0");
        assert_eq!(
            errors.to_string(),
            "chain.chain_id: must be > 0\nrelays[1].url: bad"
        );
    }
}
