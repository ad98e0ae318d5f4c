//! okx feed: being written.
