//! proptest: random sequences of (view kind, range, index, op, value) on one buffer
//! give the same results and the same final bytes as a plain sequential model over a
//! `Vec<u8>` of the same bytes (little-endian, wrapping, as JS specifies).
//!
//! Under miri this runs a handful of short cases (and keeps no regression file).

use proptest::prelude::*;
use weft_shared::*;

const BUFFER_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Kind {
    const ALL: [Kind; 10] = [
        Kind::I8,
        Kind::U8,
        Kind::I16,
        Kind::U16,
        Kind::I32,
        Kind::U32,
        Kind::I64,
        Kind::U64,
        Kind::F32,
        Kind::F64,
    ];

    fn size(self) -> usize {
        match self {
            Kind::I8 | Kind::U8 => 1,
            Kind::I16 | Kind::U16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 => 4,
            Kind::I64 | Kind::U64 | Kind::F64 => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Kind::F32 | Kind::F64)
    }

    fn mask(self) -> u64 {
        if self.size() == 8 {
            u64::MAX
        } else {
            (1 << (8 * self.size())) - 1
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Load,
    Store,
    Add,
    Sub,
    And,
    Or,
    Xor,
    Exchange,
    CompareExchange,
}

impl Op {
    const INT: [Op; 9] = [
        Op::Load,
        Op::Store,
        Op::Add,
        Op::Sub,
        Op::And,
        Op::Or,
        Op::Xor,
        Op::Exchange,
        Op::CompareExchange,
    ];
    const FLOAT: [Op; 3] = [Op::Load, Op::Store, Op::Add];
}

#[derive(Debug, Clone)]
struct Step {
    kind: Kind,
    /// The view starts this many elements into the buffer (clamped to the buffer).
    first_element: usize,
    /// Picks the element, modulo the view's length.
    index: usize,
    op: Op,
    /// The operand's bits (truncated to the kind).
    value: u64,
    /// compare_exchange: expect the current value (to force a swap) or `expected`.
    expect_current: bool,
    expected: u64,
}

fn interesting_bits() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(0),
        Just(1),
        Just(u64::MAX),
        Just(0x7f),
        Just(0x80),
        Just(0x8000_0000),
        Just(1 << 63),
        0..4u64,
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..Kind::ALL.len(),
        0..BUFFER_LEN,
        any::<usize>(),
        0..Op::INT.len(),
        interesting_bits(),
        any::<bool>(),
        interesting_bits(),
    )
        .prop_map(
            |(kind, first_element, index, op, value, expect_current, expected)| {
                let kind = Kind::ALL[kind];
                let op = if kind.is_float() {
                    Op::FLOAT[op % Op::FLOAT.len()]
                } else {
                    Op::INT[op]
                };
                Step {
                    kind,
                    first_element,
                    index,
                    op,
                    value,
                    expect_current,
                    expected,
                }
            },
        )
}

/// The element a step addresses: (byte offset of its view, view length, index).
fn place(step: &Step) -> (usize, usize, usize) {
    let elements = BUFFER_LEN / step.kind.size();
    let first = step.first_element % elements;
    let len = elements - first;
    (first * step.kind.size(), len, step.index % len)
}

/// The byte range of the element `step` addresses.
fn element_bytes(step: &Step) -> std::ops::Range<usize> {
    let (offset, _, index) = place(step);
    let at = offset + index * step.kind.size();
    at..at + step.kind.size()
}

/// The little-endian value of `bytes`, zero-extended.
fn read_le(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// The sequential model: applies `step` to `bytes`; returns the operation's result bits
/// (the old value, or the loaded value), or `None` for a store.
fn model(bytes: &mut [u8], step: &Step) -> Option<u64> {
    let range = element_bytes(step);
    let (size, mask) = (step.kind.size(), step.kind.mask());
    let old = read_le(&bytes[range.clone()]);
    let value = step.value & mask;
    let expected = if step.expect_current {
        old
    } else {
        step.expected & mask
    };
    let new = match step.op {
        Op::Load => None,
        Op::Store | Op::Exchange => Some(value),
        Op::Add if step.kind == Kind::F32 => Some(u64::from(
            (f32::from_bits(old as u32) + f32::from_bits(value as u32)).to_bits(),
        )),
        Op::Add if step.kind == Kind::F64 => {
            Some((f64::from_bits(old) + f64::from_bits(value)).to_bits())
        }
        Op::Add => Some(old.wrapping_add(value) & mask),
        Op::Sub => Some(old.wrapping_sub(value) & mask),
        Op::And => Some(old & value),
        Op::Or => Some(old | value),
        Op::Xor => Some(old ^ value),
        Op::CompareExchange => (old == expected).then_some(value),
    };
    if let Some(new) = new {
        bytes[range].copy_from_slice(&new.to_le_bytes()[..size]);
    }
    (step.op != Op::Store).then_some(old)
}

macro_rules! run_integer {
    ($View:ident, $t:ty, $buf:expr, $step:expr, $offset:expr, $len:expr, $index:expr, $current:expr) => {{
        let view = $View::with_range($buf, $offset, $len).unwrap();
        let (i, v) = ($index, $step.value as $t);
        let expected = if $step.expect_current {
            $current as $t
        } else {
            $step.expected as $t
        };
        let old = match $step.op {
            Op::Load => view.load(i),
            Op::Store => {
                view.store(i, v);
                return None;
            }
            Op::Add => view.add(i, v),
            Op::Sub => view.sub(i, v),
            Op::And => view.and(i, v),
            Op::Or => view.or(i, v),
            Op::Xor => view.xor(i, v),
            Op::Exchange => view.exchange(i, v),
            Op::CompareExchange => view.compare_exchange(i, expected, v),
        };
        Some((old as u64) & $step.kind.mask())
    }};
}

macro_rules! run_float {
    ($View:ident, $t:ty, $bits:ty, $buf:expr, $step:expr, $offset:expr, $len:expr, $index:expr) => {{
        let view = $View::with_range($buf, $offset, $len).unwrap();
        let (i, v) = ($index, <$t>::from_bits($step.value as $bits));
        let old = match $step.op {
            Op::Load => view.load(i),
            Op::Store => {
                view.store(i, v);
                return None;
            }
            Op::Add => view.add(i, v),
            op => unreachable!("{op:?} on a float view"),
        };
        Some(u64::from(old.to_bits()))
    }};
}

/// Applies `step` to the real buffer through a freshly made view of its kind.
fn run(buf: &SharedBuffer, step: &Step, current: u64) -> Option<u64> {
    let (offset, len, i) = place(step);
    match step.kind {
        Kind::I8 => run_integer!(Int8View, i8, buf, step, offset, len, i, current),
        Kind::U8 => run_integer!(Uint8View, u8, buf, step, offset, len, i, current),
        Kind::I16 => run_integer!(Int16View, i16, buf, step, offset, len, i, current),
        Kind::U16 => run_integer!(Uint16View, u16, buf, step, offset, len, i, current),
        Kind::I32 => run_integer!(Int32View, i32, buf, step, offset, len, i, current),
        Kind::U32 => run_integer!(Uint32View, u32, buf, step, offset, len, i, current),
        Kind::I64 => run_integer!(BigInt64View, i64, buf, step, offset, len, i, current),
        Kind::U64 => run_integer!(BigUint64View, u64, buf, step, offset, len, i, current),
        Kind::F32 => run_float!(Float32View, f32, u32, buf, step, offset, len, i),
        Kind::F64 => run_float!(Float64View, f64, u64, buf, step, offset, len, i),
    }
}

fn is_nan(kind: Kind, bits: u64) -> bool {
    match kind {
        Kind::F32 => f32::from_bits(bits as u32).is_nan(),
        Kind::F64 => f64::from_bits(bits).is_nan(),
        _ => false,
    }
}

fn config() -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig {
            cases: 3,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    } else {
        ProptestConfig::with_cases(512)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_ops_on_views_match_a_sequential_byte_model(
        steps in prop::collection::vec(step(), 1..if cfg!(miri) { 16 } else { 96 }),
    ) {
        let buf = SharedBuffer::new(BUFFER_LEN);
        let bytes = Uint8View::new(&buf).unwrap();
        let mut expected_bytes = vec![0u8; BUFFER_LEN];
        for (n, step) in steps.iter().enumerate() {
            let range = element_bytes(step);
            let before = read_le(&expected_bytes[range.clone()]);
            let want = model(&mut expected_bytes, step);
            let got = run(&buf, step, before);
            prop_assert_eq!(got, want, "step {}: {:?}", n, step);
            let real = bytes.to_vec();
            if step.op == Op::Add && is_nan(step.kind, read_le(&expected_bytes[range.clone()])) {
                // A NaN sum's payload is not specified (miri even randomizes it): accept
                // the buffer's NaN as long as it is one.
                prop_assert!(is_nan(step.kind, read_le(&real[range.clone()])), "step {}", n);
                expected_bytes[range.clone()].copy_from_slice(&real[range]);
            }
            prop_assert_eq!(&real, &expected_bytes, "after step {}: {:?}", n, step);
        }
    }
}
