//! Integration tests for kestrel-sandbox.
mod builder;
mod deploy;
