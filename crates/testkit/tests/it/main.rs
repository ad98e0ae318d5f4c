//! Integration tests for kestrel-testkit: `kestrel_fire::RelayConn` against the fake relay.

mod relay;
