//! Integration tests for kestrel-hot.
