//! Integration tests for kestrel-fire, checked against independent implementations (alloy's
//! decoders and signer, serde_json).

mod auth;
mod bundle_body;
mod ladder;
