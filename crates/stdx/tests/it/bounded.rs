//! BoundedVec: fills to capacity, refuses the next push, and recovers after clear.

use kestrel_stdx::BoundedVec;

#[test]
fn push_until_full_then_err_returns_the_value() {
    let mut v: BoundedVec<u32, 4> = BoundedVec::new();
    assert!(v.is_empty());
    for i in 0..4 {
        assert_eq!(v.push(i * 10), Ok(()));
    }
    assert!(v.is_full());
    assert_eq!(v.len(), 4);
    assert_eq!(v.push(99), Err(99));
    assert_eq!(v.len(), 4, "a refused push must not change the length");
    assert_eq!(v.as_slice(), &[0, 10, 20, 30]);
}

#[test]
fn clear_empties_and_allows_refilling() {
    let mut v: BoundedVec<u8, 2> = BoundedVec::new();
    v.push(1).expect("room");
    v.push(2).expect("room");
    v.clear();
    assert!(v.is_empty());
    assert_eq!(v.as_slice(), &[] as &[u8]);
    v.push(7).expect("room after clear");
    assert_eq!(v.as_slice(), &[7]);
    assert_eq!(v.capacity(), 2);
    assert_eq!(BoundedVec::<u8, 2>::CAPACITY, 2);
}

#[test]
fn pop_returns_in_reverse_order_and_frees_a_slot() {
    let mut v: BoundedVec<String, 2> = BoundedVec::new();
    v.push("a".into()).expect("room");
    v.push("b".into()).expect("room");
    assert_eq!(v.push("c".into()), Err("c".to_string()));
    assert_eq!(v.pop().as_deref(), Some("b"));
    v.push("d".into()).expect("pop freed a slot");
    assert_eq!(v.as_slice(), ["a", "d"]);
    assert_eq!(v.pop().as_deref(), Some("d"));
    assert_eq!(v.pop().as_deref(), Some("a"));
    assert_eq!(v.pop(), None);
}

#[test]
fn slice_access_and_debug_show_only_live_elements() {
    let mut v: BoundedVec<i64, 8> = BoundedVec::new();
    v.push(3).expect("room");
    v.push(-1).expect("room");
    v.as_mut_slice()[1] = 5;
    assert_eq!(v.iter().sum::<i64>(), 8);
    assert_eq!(format!("{v:?}"), "[3, 5]");
}
