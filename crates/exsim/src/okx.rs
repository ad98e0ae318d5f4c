//! okx: being written.
