//! Fixed-capacity collections that never allocate.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A vector of at most `N` elements stored inline in an array: no heap, no growth.
///
/// Hot-path scratch space (decoded swap legs, candidate pools) lives here so the loop never
/// allocates. `T: Default` fills the unused slots, which keeps this crate free of `unsafe`;
/// removed elements are replaced by `T::default()` so nothing they own outlives them.
#[derive(Clone)]
pub struct BoundedVec<T, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Default, const N: usize> BoundedVec<T, N> {
    /// The fixed capacity, `N`.
    pub const CAPACITY: usize = N;

    /// An empty vector.
    pub fn new() -> Self {
        Self {
            items: std::array::from_fn(|_| T::default()),
            len: 0,
        }
    }

    /// Appends `value`, or hands it back in `Err` when the vector already holds `N` elements.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = value;
                self.len += 1;
                Ok(())
            }
            None => Err(value),
        }
    }

    /// Removes and returns the last element, or `None` when empty.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let last = self.len.checked_sub(1)?;
        let value = std::mem::take(self.items.get_mut(last)?);
        self.len = last;
        Some(value)
    }

    /// Removes every element (resetting their slots to `T::default()`).
    pub fn clear(&mut self) {
        for slot in self.items.iter_mut().take(self.len) {
            *slot = T::default();
        }
        self.len = 0;
    }
}

impl<T, const N: usize> BoundedVec<T, N> {
    /// The elements, in push order.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        // `len <= N` always holds, so this never falls back; the fallback avoids a panic path.
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// The elements, mutably.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.items.get_mut(..self.len).unwrap_or(&mut [])
    }

    /// How many elements it holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a further [`push`](Self::push) would fail.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len >= N
    }

    /// The fixed capacity, `N`.
    #[inline]
    pub fn capacity(&self) -> usize {
        N
    }
}

impl<T: Default, const N: usize> Default for BoundedVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Deref for BoundedVec<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T, const N: usize> DerefMut for BoundedVec<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T: PartialEq, const N: usize> PartialEq for BoundedVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq, const N: usize> Eq for BoundedVec<T, N> {}

impl<T: fmt::Debug, const N: usize> fmt::Debug for BoundedVec<T, N> {
    // Only the live elements: the default-filled tail is an implementation detail.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedVec;
    use std::sync::Arc;

    #[test]
    fn zero_capacity_rejects_every_push() {
        let mut v: BoundedVec<u8, 0> = BoundedVec::new();
        assert!(v.is_full());
        assert_eq!(v.push(1), Err(1));
        assert_eq!(v.pop(), None);
    }

    #[test]
    fn clear_and_pop_release_what_the_elements_own() {
        let shared = Arc::new(5_u32);
        let mut v: BoundedVec<Option<Arc<u32>>, 3> = BoundedVec::new();
        for _ in 0..3 {
            assert!(v.push(Some(Arc::clone(&shared))).is_ok());
        }
        assert_eq!(Arc::strong_count(&shared), 4);
        drop(v.pop());
        assert_eq!(Arc::strong_count(&shared), 3);
        v.clear();
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
