//! Integration tests of the statistics against the statsmodels reference.

mod coint;
mod johansen;
mod props;
mod scan;
mod spread;
mod statsmodels;
mod support;
