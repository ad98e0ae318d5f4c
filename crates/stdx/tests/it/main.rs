//! Integration tests for kestrel-stdx: clocks, the seeded RNG and bounded collections, driven
//! through the public API only.

mod bounded;
mod clock;
mod rng;
