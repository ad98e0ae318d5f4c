//! The routers whose pending transactions the hot lane decodes, and how.
//!
//! Built once by the slow lane from the config (`[[dex.v2_factories]]` routers and
//! `[[dex.routers]]`), shared by every published [`crate::HotState`]. A lookup is a binary
//! search over a sorted, fixed slice: no hashing, no allocation.

use kestrel_dex::cycle::V3FactoryId;
use kestrel_dex::universal::UrVersion;
use kestrel_types::{Address, DecodePath, FactoryId};

/// Which decoder reads a router's calldata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// UniswapV2Router02: the V2 lane (pre-signed ladder, V2-V2 cycles).
    V2Router02,
    /// The V3 SwapRouter or SwapRouter02 (one decoder reads both).
    SwapRouter {
        /// SwapRouter02 rather than the original SwapRouter (for the reports).
        v02: bool,
    },
    /// The Universal Router of this release.
    Universal(UrVersion),
}

impl Decoder {
    /// The decode path the reports count it under.
    pub const fn path(self) -> DecodePath {
        match self {
            Decoder::V2Router02 => DecodePath::V2Router02,
            Decoder::SwapRouter { v02: false } => DecodePath::SwapRouter,
            Decoder::SwapRouter { v02: true } => DecodePath::SwapRouter02,
            Decoder::Universal(_) => DecodePath::UniversalRouter,
        }
    }
}

/// One router: its decoder and the factories its V2 and V3 swaps go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterEntry {
    /// The router contract (the pending transaction's `to`).
    pub address: Address,
    /// How its calldata is read.
    pub decoder: Decoder,
    /// The V2 factory its V2 swaps use (`None`: V2 legs are unknown pools).
    pub v2_factory: Option<FactoryId>,
    /// The V3 factory its V3 swaps use (`None`: V3 legs are unknown pools).
    pub v3_factory: Option<V3FactoryId>,
}

/// Every decoded router, sorted by address.
///
/// **Invariant:** addresses are unique and sorted, so [`RouterTable::get`] is a binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterTable {
    entries: Vec<RouterEntry>,
}

/// A router listed twice with different meanings: the table is not built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("router {0} is listed twice with different decoders or factories")]
pub struct DuplicateRouter(pub Address);

impl RouterTable {
    /// The table of `entries`. The same entry given twice is kept once (a V2 factory's router
    /// may also be listed under `[[dex.routers]]`); the same address with a different meaning
    /// is an error.
    pub fn new(mut entries: Vec<RouterEntry>) -> Result<RouterTable, DuplicateRouter> {
        entries.sort_by_key(|e| e.address);
        entries.dedup();
        let twice = entries.windows(2).find_map(|w| match w {
            [a, b] if a.address == b.address => Some(a.address),
            _ => None,
        });
        if let Some(address) = twice {
            return Err(DuplicateRouter(address));
        }
        Ok(RouterTable { entries })
    }

    /// The entry for `to`, if it is a decoded router.
    pub fn get(&self, to: Address) -> Option<&RouterEntry> {
        self.entries
            .binary_search_by_key(&to, |e| e.address)
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// Every entry, sorted by address.
    pub fn entries(&self) -> &[RouterEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(byte: u8, decoder: Decoder) -> RouterEntry {
        RouterEntry {
            address: Address::repeat_byte(byte),
            decoder,
            v2_factory: Some(FactoryId(0)),
            v3_factory: None,
        }
    }

    #[test]
    fn lookups_find_every_entry_and_nothing_else() {
        let entries = vec![
            entry(9, Decoder::V2Router02),
            entry(3, Decoder::SwapRouter { v02: true }),
            entry(5, Decoder::Universal(UrVersion::V2)),
            entry(3, Decoder::SwapRouter { v02: true }),
        ];
        let t = RouterTable::new(entries.clone()).unwrap();
        assert_eq!(t.entries().len(), 3);
        for e in &entries {
            assert_eq!(t.get(e.address), Some(e));
        }
        for miss in [0u8, 4, 6, 10, 0xff] {
            assert_eq!(t.get(Address::repeat_byte(miss)), None);
        }
        assert_eq!(
            t.get(Address::repeat_byte(5)).map(|e| e.decoder.path()),
            Some(DecodePath::UniversalRouter)
        );
    }

    #[test]
    fn one_address_with_two_meanings_is_refused() {
        let err = RouterTable::new(vec![
            entry(3, Decoder::SwapRouter { v02: true }),
            entry(3, Decoder::V2Router02),
        ])
        .unwrap_err();
        assert_eq!(err, DuplicateRouter(Address::repeat_byte(3)));
    }
}
