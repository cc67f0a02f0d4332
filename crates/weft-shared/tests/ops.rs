//! Every operation on every view kind: values, returned old values, wrap-around and
//! sign, on every element position of a word (each kind's ops take different paths
//! for the top lane, lower lanes and whole words).

use weft_shared::*;

/// 16 bytes: two words, so every lane position of every kind is exercised.
fn buffer() -> SharedBuffer {
    SharedBuffer::new(16)
}

macro_rules! integer_kind {
    ($module:ident, $View:ident, $t:ty) => {
        mod $module {
            use super::*;

            fn view() -> $View {
                $View::new(&buffer()).unwrap()
            }

            /// A distinct, non-trivial value per index (negative for signed kinds).
            fn pattern(i: usize) -> $t {
                (0xa5u64.wrapping_mul(i as u64 + 1) as $t).wrapping_neg()
            }

            #[test]
            fn store_then_load_round_trips_on_every_element() {
                let v = view();
                for i in 0..v.len() {
                    v.store(i, pattern(i));
                }
                for i in 0..v.len() {
                    assert_eq!(v.load(i), pattern(i), "element {i}");
                }
                assert_eq!(v.to_vec(), (0..v.len()).map(pattern).collect::<Vec<_>>());
            }

            #[test]
            fn add_wraps_past_max_and_returns_the_old_value() {
                let v = view();
                for i in 0..v.len() {
                    v.store(i, <$t>::MAX);
                    assert_eq!(v.add(i, 1), <$t>::MAX);
                    assert_eq!(v.load(i), <$t>::MIN);
                    assert_eq!(v.add(i, 5), <$t>::MIN);
                    assert_eq!(v.load(i), <$t>::MIN.wrapping_add(5));
                }
            }

            #[test]
            fn sub_wraps_below_min_and_returns_the_old_value() {
                let v = view();
                for i in 0..v.len() {
                    v.store(i, <$t>::MIN);
                    assert_eq!(v.sub(i, 1), <$t>::MIN);
                    assert_eq!(v.load(i), <$t>::MAX);
                    assert_eq!(v.sub(i, <$t>::MAX), <$t>::MAX);
                    assert_eq!(v.load(i), 0);
                }
            }

            #[test]
            fn bitwise_ops_return_the_old_value() {
                let v = view();
                for i in 0..v.len() {
                    v.store(i, 0b1100);
                    assert_eq!(v.and(i, 0b1010), 0b1100);
                    assert_eq!(v.load(i), 0b1000);
                    assert_eq!(v.or(i, 0b0011), 0b1000);
                    assert_eq!(v.load(i), 0b1011);
                    assert_eq!(v.xor(i, !0), 0b1011);
                    assert_eq!(v.load(i), !0b1011);
                    assert_eq!(v.and(i, <$t>::MIN), !0b1011); // keeps only the top bit
                    assert_eq!(v.load(i), <$t>::MIN);
                }
            }

            #[test]
            fn exchange_stores_and_returns_the_old_value() {
                let v = view();
                for i in 0..v.len() {
                    assert_eq!(v.exchange(i, pattern(i)), 0);
                    assert_eq!(v.exchange(i, <$t>::MAX), pattern(i));
                    assert_eq!(v.load(i), <$t>::MAX);
                }
            }

            #[test]
            fn compare_exchange_returns_the_old_value_whether_or_not_it_swaps() {
                let v = view();
                for i in 0..v.len() {
                    v.store(i, pattern(i));
                    // Failure: nothing stored, the current value returned.
                    assert_eq!(v.compare_exchange(i, pattern(i) ^ 1, 7), pattern(i));
                    assert_eq!(v.load(i), pattern(i));
                    // Success: stored, the old value returned.
                    assert_eq!(v.compare_exchange(i, pattern(i), <$t>::MIN), pattern(i));
                    assert_eq!(v.load(i), <$t>::MIN);
                }
            }

            #[test]
            fn each_op_changes_only_its_own_element() {
                let v = view();
                let all_ones: Vec<$t> = vec![!0; v.len()];
                for i in 0..v.len() {
                    let ops: [&dyn Fn(); 8] = [
                        &|| v.store(i, 0),
                        &|| {
                            v.add(i, 1);
                        },
                        &|| {
                            v.sub(i, 1);
                        },
                        &|| {
                            v.and(i, 0);
                        },
                        &|| {
                            v.or(i, 0);
                        },
                        &|| {
                            v.xor(i, !0);
                        },
                        &|| {
                            v.exchange(i, 0);
                        },
                        &|| {
                            v.compare_exchange(i, !0, 0);
                        },
                    ];
                    for op in ops {
                        v.copy_from_slice(&all_ones);
                        op();
                        for j in (0..v.len()).filter(|&j| j != i) {
                            assert_eq!(v.load(j), !0, "op on {i} changed {j}");
                        }
                    }
                }
            }

            #[test]
            fn bulk_helpers_round_trip() {
                let v = view();
                let values: Vec<$t> = (0..v.len()).map(pattern).collect();
                v.copy_from_slice(&values);
                assert_eq!(v.to_vec(), values);
                assert_eq!(v.iter().collect::<Vec<_>>(), values);
                assert_eq!(v.iter().len(), v.len());
                assert_eq!(v.iter().rev().next(), values.last().copied());
            }
        }
    };
}

integer_kind!(int8, Int8View, i8);
integer_kind!(uint8, Uint8View, u8);
integer_kind!(int16, Int16View, i16);
integer_kind!(uint16, Uint16View, u16);
integer_kind!(int32, Int32View, i32);
integer_kind!(uint32, Uint32View, u32);
integer_kind!(bigint64, BigInt64View, i64);
integer_kind!(biguint64, BigUint64View, u64);

#[test]
fn int8_add_127_plus_1_stores_minus_128_and_returns_127() {
    let v = Int8View::new(&buffer()).unwrap();
    v.store(3, 127);
    assert_eq!(v.add(3, 1), 127);
    assert_eq!(v.load(3), -128);
}

#[test]
fn uint16_sub_0_minus_1_is_65535() {
    let v = Uint16View::new(&buffer()).unwrap();
    assert_eq!(v.sub(2, 1), 0);
    assert_eq!(v.load(2), 65535);
}

#[test]
fn signed_kinds_keep_their_sign() {
    let buf = buffer();
    let i16s = Int16View::new(&buf).unwrap();
    assert_eq!(i16s.sub(0, 300), 0);
    assert_eq!(i16s.load(0), -300);
    assert_eq!(i16s.add(0, 100), -300);
    assert_eq!(i16s.load(0), -200);
    let i32s = Int32View::new(&buf).unwrap();
    assert_eq!(i32s.load(0), 0xff38); // -200 as i16 bits, zero above: element 0 of Int16 is the low half
    let i64s = BigInt64View::new(&buf).unwrap();
    i64s.store(1, -2);
    assert_eq!(i64s.add(1, 1), -2);
    assert_eq!(i64s.load(1), -1);
    assert_eq!(i64s.compare_exchange(1, -1, i64::MIN), -1);
    assert_eq!(i64s.load(1), i64::MIN);
}

#[test]
fn uint8_add_wraps_without_carrying_into_the_next_byte() {
    let v = Uint8View::new(&buffer()).unwrap();
    v.store(0, 255);
    assert_eq!(v.add(0, 2), 255);
    assert_eq!(v.to_vec()[..2], [1, 0]);
    v.store(7, 255); // the top byte of a word: the native fetch_add path
    assert_eq!(v.add(7, 1), 255);
    assert_eq!(v.to_vec()[6..9], [0, 0, 0]);
}

macro_rules! float_kind {
    ($module:ident, $View:ident, $t:ty) => {
        mod $module {
            use super::*;

            fn view() -> $View {
                $View::new(&buffer()).unwrap()
            }

            #[test]
            fn store_then_load_round_trips_on_every_element() {
                let v = view();
                let values = [
                    1.5,
                    -0.0,
                    <$t>::MAX,
                    <$t>::MIN_POSITIVE,
                    -3.25,
                    <$t>::INFINITY,
                ];
                for i in 0..v.len() {
                    v.store(i, values[i % values.len()]);
                }
                for i in 0..v.len() {
                    let (got, want) = (v.load(i), values[i % values.len()]);
                    assert_eq!(got.to_bits(), want.to_bits(), "element {i}");
                }
            }

            #[test]
            fn nan_payload_survives_store_and_load() {
                let v = view();
                let nan = <$t>::from_bits(<$t>::NAN.to_bits() | 1);
                v.store(0, nan);
                assert_eq!(v.load(0).to_bits(), nan.to_bits());
            }

            #[test]
            fn add_returns_the_old_value_on_every_element() {
                let v = view();
                for i in 0..v.len() {
                    assert_eq!(v.add(i, 1.5), 0.0);
                    assert_eq!(v.add(i, -0.25), 1.5);
                    assert_eq!(v.load(i), 1.25);
                }
                v.store(0, <$t>::MAX);
                assert_eq!(v.add(0, <$t>::MAX), <$t>::MAX);
                assert_eq!(v.load(0), <$t>::INFINITY);
                assert_eq!(v.add(0, <$t>::NEG_INFINITY), <$t>::INFINITY);
                assert!(v.load(0).is_nan());
            }

            #[test]
            fn add_changes_only_its_own_element() {
                let v = view();
                v.copy_from_slice(&vec![2.0; v.len()]);
                v.add(1, 1.0);
                let mut want = vec![2.0; v.len()];
                want[1] = 3.0;
                assert_eq!(v.to_vec(), want);
            }

            #[test]
            fn bulk_helpers_round_trip() {
                let v = view();
                let values: Vec<$t> = (0..v.len()).map(|i| i as $t * 0.5).collect();
                v.copy_from_slice(&values);
                assert_eq!(v.to_vec(), values);
                assert_eq!(v.iter().sum::<$t>(), values.iter().sum::<$t>());
            }
        }
    };
}

float_kind!(float32, Float32View, f32);
float_kind!(float64, Float64View, f64);

#[test]
fn is_lock_free_follows_the_js_rules() {
    for size in [1, 2, 4, 8] {
        assert!(is_lock_free(size), "size {size}");
    }
    for size in [0, 3, 5, 6, 7, 16, usize::MAX] {
        assert!(!is_lock_free(size), "size {size}");
    }
}

#[test]
fn views_and_buffers_debug_print_their_shape() {
    let buf = buffer();
    assert_eq!(format!("{buf:?}"), "SharedBuffer { byte_len: 16, .. }");
    let v = Uint16View::with_range(&buf, 4, 3).unwrap();
    assert_eq!(format!("{v:?}"), "Uint16View { byte_offset: 4, len: 3 }");
}
