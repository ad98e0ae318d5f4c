//! Deterministic terms of a regression, named as statsmodels names them.

use std::fmt;

/// Deterministic terms added to a regression: none, a constant, constant + linear trend, or
/// constant + linear + quadratic trend (statsmodels' `"n"`, `"c"`, `"ct"`, `"ctt"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Trend {
    /// No deterministic terms (`"n"`).
    N,
    /// A constant (`"c"`), the default everywhere, as in statsmodels.
    #[default]
    C,
    /// A constant and a linear time trend (`"ct"`).
    Ct,
    /// A constant, a linear and a quadratic time trend (`"ctt"`).
    Ctt,
}

impl Trend {
    /// Number of deterministic columns: 0, 1, 2 or 3.
    pub const fn terms(self) -> usize {
        match self {
            Self::N => 0,
            Self::C => 1,
            Self::Ct => 2,
            Self::Ctt => 3,
        }
    }

    /// Whether a constant is among the terms (R² is then centered).
    pub const fn has_constant(self) -> bool {
        !matches!(self, Self::N)
    }

    /// statsmodels' spelling: `"n"`, `"c"`, `"ct"` or `"ctt"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::N => "n",
            Self::C => "c",
            Self::Ct => "ct",
            Self::Ctt => "ctt",
        }
    }

    /// Parses statsmodels' spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "n" => Some(Self::N),
            "c" => Some(Self::C),
            "ct" => Some(Self::Ct),
            "ctt" => Some(Self::Ctt),
            _ => None,
        }
    }
}

impl fmt::Display for Trend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
