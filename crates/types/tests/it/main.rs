//! Integration tests for kestrel-types.

mod fixed;
