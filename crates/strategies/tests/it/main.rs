//! kestrel-strategies integration tests.

mod budget;
mod risk;
mod statarb;
mod xarb;
