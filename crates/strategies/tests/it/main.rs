//! kestrel-strategies integration tests.

mod xarb;
mod risk;
