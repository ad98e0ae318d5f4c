//! Exact decimal parsing and formatting of exchange prices and sizes.

use kestrel_types::cex::{Fixed, FixedError, Scale, Venue};
use proptest::prelude::*;

fn scale(digits: u8) -> Scale {
    Scale::new(digits).expect("scale")
}

#[test]
fn decimal_text_parses_exactly_at_the_scale() {
    let cases: &[(&str, u8, Result<u64, FixedError>)] = &[
        ("0.35130000", 8, Ok(35_130_000)),
        ("6195.00000000", 2, Ok(619_500)),
        ("6195", 0, Ok(6195)),
        ("105944.2", 1, Ok(1_059_442)),
        ("105944.2", 4, Ok(1_059_442_000)),
        (".5", 1, Ok(5)),
        ("5.", 1, Ok(50)),
        ("1.5e-3", 8, Ok(150_000)),
        ("1.5E3", 0, Ok(1500)),
        ("150e-3", 2, Ok(15)),
        ("0.00027625", 8, Ok(27_625)),
        ("0.001", 2, Err(FixedError::Precision)),
        ("15e-3", 2, Err(FixedError::Precision)),
        ("-1", 2, Err(FixedError::Syntax)),
        ("", 2, Err(FixedError::Syntax)),
        (".", 2, Err(FixedError::Syntax)),
        ("1.2.3", 2, Err(FixedError::Syntax)),
        ("1e", 2, Err(FixedError::Syntax)),
        ("1e999", 2, Err(FixedError::Syntax)),
        ("12a", 2, Err(FixedError::Syntax)),
        ("18446744073709551615", 0, Ok(u64::MAX)),
        ("18446744073709551616", 0, Err(FixedError::Overflow)),
        ("184467440737.09551616", 8, Err(FixedError::Overflow)),
    ];
    for (text, digits, expected) in cases {
        assert_eq!(
            Fixed::parse(text.as_bytes(), scale(*digits)).map(|f| f.0),
            *expected,
            "{text} at {digits} digits"
        );
    }
}

#[test]
fn formatting_writes_every_fraction_digit() {
    assert_eq!(Fixed(35_130_000).to_text(scale(8)), "0.35130000");
    assert_eq!(Fixed(619_500).to_text(scale(2)), "6195.00");
    assert_eq!(Fixed(7).to_text(scale(0)), "7");
    assert!(Scale::new(19).is_none());
}

#[test]
fn venue_names_round_trip() {
    for venue in Venue::ALL {
        assert_eq!(Venue::from_name(venue.name()), Some(venue));
        assert_eq!(Venue::ALL[venue.index()], venue);
    }
    assert_eq!(Venue::from_name("ftx"), None);
}

proptest! {
    #[test]
    fn written_text_parses_back_to_the_same_value(units in any::<u64>(), digits in 0u8..=18) {
        let s = scale(digits);
        let text = Fixed(units).to_text(s);
        prop_assert_eq!(Fixed::parse(text.as_bytes(), s), Ok(Fixed(units)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40), digits in 0u8..=18) {
        let _ = Fixed::parse(&bytes, scale(digits));
    }

    #[test]
    fn parsing_agrees_with_integer_arithmetic(whole in 0u64..1_000_000_000, frac in 0u64..100_000_000, digits in 8u8..=10) {
        let text = format!("{whole}.{frac:08}");
        let expected = (whole * 100_000_000 + frac) * 10u64.pow(u32::from(digits) - 8);
        prop_assert_eq!(Fixed::parse(text.as_bytes(), scale(digits)), Ok(Fixed(expected)));
    }
}
