//! libsecp256k1 signing and recovery shared by the ladder signer and the Flashbots auth.

use alloy_primitives::{Address, keccak256};
use secp256k1::{
    Message, PublicKey, SECP256K1, SecretKey,
    ecdsa::{RecoverableSignature, RecoveryId},
};

use crate::FireError;

/// Parses a 32-byte private key from hex, with or without a `0x` prefix.
pub(crate) fn parse_key(key_hex: &str) -> Result<SecretKey, FireError> {
    let trimmed = key_hex.trim();
    let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes).map_err(|_| FireError::InvalidKey)?;
    SecretKey::from_byte_array(bytes).map_err(|_| FireError::InvalidKey)
}

/// The Ethereum address of a public key: the last 20 bytes of keccak256 of its 64-byte form.
pub(crate) fn address_of_public(public: &PublicKey) -> Address {
    let uncompressed = public.serialize_uncompressed();
    let hash = keccak256(uncompressed.get(1..).unwrap_or_default());
    Address::from_slice(hash.get(12..).unwrap_or(&[0u8; 20]))
}

/// The Ethereum address of a private key.
pub(crate) fn address_of(key: &SecretKey) -> Address {
    address_of_public(&key.public_key(SECP256K1))
}

/// Signs a 32-byte digest (RFC 6979 nonce, low-s): returns `r || s` and the recovery id (0 or 1).
pub(crate) fn sign_digest(key: &SecretKey, digest: [u8; 32]) -> ([u8; 64], u8) {
    let sig = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(digest), key);
    let (rec_id, rs) = sig.serialize_compact();
    // Recovery ids 2 and 3 need r >= n, which libsecp256k1 never produces when signing.
    let parity = u8::from(i32::from(rec_id) == 1);
    (rs, parity)
}

/// Recovers the address that signed `digest` with `r || s` and recovery id `parity` (0 or 1).
pub(crate) fn recover(digest: [u8; 32], rs: &[u8; 64], parity: u8) -> Result<Address, FireError> {
    let rec_id =
        RecoveryId::try_from(i32::from(parity)).map_err(|_| FireError::InvalidSignature)?;
    let sig =
        RecoverableSignature::from_compact(rs, rec_id).map_err(|_| FireError::InvalidSignature)?;
    let public = SECP256K1
        .recover_ecdsa(Message::from_digest(digest), &sig)
        .map_err(|_| FireError::InvalidSignature)?;
    Ok(address_of_public(&public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_key_has_known_address() {
        // anvil / hardhat account 0: a published key-address pair, independent of this code.
        let key = parse_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
            .unwrap();
        let expected: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        assert_eq!(address_of(&key), expected);
    }

    #[test]
    fn bad_keys_are_rejected() {
        assert_eq!(parse_key("0x1234"), Err(FireError::InvalidKey));
        assert_eq!(parse_key(&"00".repeat(32)), Err(FireError::InvalidKey));
        assert_eq!(parse_key(&"zz".repeat(32)), Err(FireError::InvalidKey));
    }

    #[test]
    fn sign_then_recover_round_trips() {
        let key = parse_key(&"11".repeat(32)).unwrap();
        let digest = keccak256(b"kestrel").0;
        let (rs, parity) = sign_digest(&key, digest);
        assert_eq!(recover(digest, &rs, parity), Ok(address_of(&key)));
        let other = keccak256(b"kestrel!").0;
        assert_ne!(recover(other, &rs, parity), Ok(address_of(&key)));
    }
}
