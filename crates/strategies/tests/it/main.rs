//! kestrel-strategies integration tests.

mod xarb;
