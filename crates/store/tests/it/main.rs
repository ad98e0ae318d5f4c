//! Integration tests for kestrel-store: a real SQLite file in a temp dir, written through the
//! public handle and read back through the public reader.

mod backpressure;
mod candles;
mod fixtures;
mod roundtrip;
mod schema;
mod statarb;
mod xarb;
