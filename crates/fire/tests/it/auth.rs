//! The Flashbots auth header against alloy's own EIP-191 signer (k256, a different ECDSA
//! implementation): both use RFC 6979 nonces, so the signature bytes must be identical.

use alloy_primitives::{Address, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use kestrel_fire::{BundleWriter, FireError, FlashbotsAuth, verify_flashbots_signature};
use proptest::prelude::*;

const IDENTITY_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// The header computed the independent way: alloy signs the 66-byte ASCII hash string.
fn alloy_header(body: &[u8]) -> String {
    let signer: PrivateKeySigner = IDENTITY_KEY.parse().unwrap();
    let message = format!("0x{}", hex::encode(keccak256(body)));
    assert_eq!(message.len(), 66);
    let sig = signer.sign_message_sync(message.as_bytes()).unwrap();
    format!(
        "{}:0x{}",
        signer.address().to_checksum(None),
        hex::encode(sig.as_bytes())
    )
}

fn sample_body() -> Vec<u8> {
    let mut w = BundleWriter::with_capacity(1024);
    w.send_bundle(&[&[0x02, 0xf8, 0x01][..], &[0x02, 0xab][..]], 0x1234)
        .to_vec()
}

#[test]
fn header_matches_alloy_personal_sign() {
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let body = sample_body();
    let mut out = [0u8; 200];
    let header = auth.sign_header(&body, &mut out);
    assert_eq!(header, alloy_header(&body));
    assert_eq!(header.len(), kestrel_fire::bundle::HEADER_LEN);
    let v = &header[header.len() - 2..];
    assert!(v == "1b" || v == "1c", "v must be 27 or 28, got {v}");
}

#[test]
fn verification_accepts_the_signer_and_rejects_tampering() {
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let body = sample_body();
    let mut out = [0u8; 200];
    let header = auth.sign_header(&body, &mut out).to_owned();
    assert_eq!(
        verify_flashbots_signature(&header, &body),
        Ok(auth.address())
    );

    let mut changed = body.clone();
    changed[40] ^= 1;
    assert!(
        verify_flashbots_signature(&header, &changed).is_err(),
        "one changed byte must fail"
    );

    let other = Address::repeat_byte(0x42);
    let (_, sig) = header.split_once(':').unwrap();
    let forged = format!("{other}:{sig}");
    assert_eq!(
        verify_flashbots_signature(&forged, &body),
        Err(FireError::SignerMismatch)
    );
}

#[test]
fn verification_accepts_lowercase_and_v_0_1_but_not_garbage() {
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let body = b"{}";
    let mut out = [0u8; 200];
    let header = auth.sign_header(body, &mut out).to_owned();
    let lower = header.to_lowercase();
    let v = u8::from_str_radix(&lower[lower.len() - 2..], 16).unwrap();
    let zero_one = format!("{}{:02x}", &lower[..lower.len() - 2], v - 27);
    assert_eq!(
        verify_flashbots_signature(&zero_one, body),
        Ok(auth.address())
    );
    assert_eq!(
        verify_flashbots_signature("nonsense", body),
        Err(FireError::MalformedHeader)
    );
    assert_eq!(
        verify_flashbots_signature(&lower[..lower.len() - 4], body),
        Err(FireError::MalformedHeader)
    );
    let bad_v = format!("{}{:02x}", &lower[..lower.len() - 2], 29);
    assert_eq!(
        verify_flashbots_signature(&bad_v, body),
        Err(FireError::InvalidSignature)
    );
}

#[test]
fn debug_hides_the_key() {
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let shown = format!("{auth:?}");
    assert!(!shown.contains(&IDENTITY_KEY[2..18]), "{shown}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_body_signs_like_alloy(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
        let mut out = [0u8; 200];
        let header = auth.sign_header(&body, &mut out);
        prop_assert_eq!(header, alloy_header(&body));
        prop_assert_eq!(verify_flashbots_signature(header, &body), Ok(auth.address()));
    }
}

#[test]
fn presigned_headers_verify_and_an_empty_pool_falls_back() {
    use kestrel_fire::{FlashbotsAuth, PresigPool, verify_flashbots_signature};
    let auth = FlashbotsAuth::from_hex(
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    )
    .unwrap();
    let pool = PresigPool::with_capacity(64);
    pool.refill().unwrap();
    let mut out = [0u8; 200];
    for i in 0..100u32 {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"eth_sendBundle","params":[]}}"#);
        let header = auth
            .sign_header_presigned(body.as_bytes(), &pool, &mut out)
            .to_string();
        assert_eq!(
            verify_flashbots_signature(&header, body.as_bytes()).unwrap(),
            auth.address(),
            "body {i}"
        );
        let mut tampered = body.clone().into_bytes();
        tampered[10] ^= 1;
        assert!(verify_flashbots_signature(&header, &tampered).is_err());
    }
    // 64 nonces for 100 signatures: 36 full signatures, each counted.
    assert_eq!(pool.fallbacks(), 36);
    assert!(pool.is_empty());
}
