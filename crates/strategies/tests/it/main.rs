//! kestrel-strategies integration tests.

mod risk;
mod xarb;
