//! A fixed-size set of recently seen 64-bit keys, for dropping duplicate announcements on the
//! hot path without allocating.

/// A direct-mapped cache of recent keys: `insert` says whether the key was already there.
///
/// It can forget (a newer key mapping to the same slot evicts an older one), so a very old key
/// may be reported new again; it never reports a key it was not given, except for a key equal
/// to the `EMPTY` sentinel, which is remapped. Capacity is fixed at construction.
#[derive(Debug, Clone)]
pub struct RecentSet {
    slots: Box<[u64]>,
    shift: u32,
}

const EMPTY: u64 = 0;

impl RecentSet {
    /// A set with `capacity` slots, rounded up to a power of two (at least 2).
    pub fn with_capacity(capacity: usize) -> RecentSet {
        let n = capacity.max(2).next_power_of_two();
        RecentSet {
            slots: vec![EMPTY; n].into_boxed_slice(),
            shift: 64 - n.trailing_zeros(),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Records `key`; returns `true` if it was already present.
    pub fn insert(&mut self, key: u64) -> bool {
        // Zero marks an empty slot; map a zero key to another value that is just as unlikely.
        let key = if key == EMPTY { u64::MAX } else { key };
        // Fibonacci hashing: the top bits of key * 2^64/phi spread any key pattern evenly.
        let slot = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        match self.slots.get_mut(slot) {
            Some(s) if *s == key => true,
            Some(s) => {
                *s = key;
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_insert_of_a_key_is_a_duplicate() {
        let mut r = RecentSet::with_capacity(1000);
        assert_eq!(r.capacity(), 1024);
        assert!(!r.insert(42));
        assert!(r.insert(42));
        assert!(!r.insert(0));
        assert!(r.insert(0));
    }

    #[test]
    fn a_colliding_newer_key_evicts_the_older_one() {
        let mut r = RecentSet::with_capacity(2);
        // Three keys in two slots: some pair collides, and the older of it is forgotten.
        let keys = [1u64, 2, 3];
        for k in keys {
            assert!(!r.insert(k));
        }
        let remembered = keys.iter().filter(|&&k| r.insert(k)).count();
        assert!(
            remembered < keys.len(),
            "a 2-slot table cannot remember 3 keys"
        );
    }

    #[test]
    fn keys_with_repeated_byte_patterns_do_not_collide() {
        let mut r = RecentSet::with_capacity(1 << 16);
        let keys: Vec<u64> = (1..=255u8).map(|b| u64::from_le_bytes([b; 8])).collect();
        for &k in &keys {
            assert!(!r.insert(k));
        }
        let remembered = keys.iter().filter(|&&k| r.insert(k)).count();
        assert!(
            remembered >= keys.len() - 2,
            "only {remembered} of 255 patterned keys kept"
        );
    }

    #[test]
    fn distinct_keys_are_never_reported_as_duplicates() {
        let mut r = RecentSet::with_capacity(1 << 16);
        // A key is only ever a duplicate of itself: 2^17 distinct keys, none seen before.
        for k in 1..=(1u64 << 17) {
            assert!(
                !r.insert(k.wrapping_mul(0x2545_F491_4F6C_DD1D)),
                "key {k} reported as a duplicate"
            );
        }
    }
}
