//! Integration tests for kestrel-types.
