//! Integration tests for kestrel-sandbox.
mod builder;
mod deploy;
mod v3_quoter;
