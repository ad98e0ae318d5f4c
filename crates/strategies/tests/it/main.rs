//! kestrel-strategies integration tests.

mod budget;
mod risk;
mod xarb;
