//! [`Element`]: what a view's element type must tell the lane code.

/// A typed array element: its size, its view's name, and its conversion to and from
/// lane bits (the element's bits zero-extended to `u64`, see `lane.rs`).
pub(crate) trait Element: Copy {
    /// Size in bytes; also the alignment views demand of their byte offset.
    const SIZE: usize;
    /// The view type's name, for panic messages.
    const VIEW: &'static str;
    /// The element's bits, zero-extended.
    fn to_bits(self) -> u64;
    /// The element whose bits are the low `8 * SIZE` bits of `bits`.
    fn from_bits(bits: u64) -> Self;
}

macro_rules! element {
    ($t:ty, $unsigned:ty, $view:literal, |$v:ident| $to:expr, |$b:ident| $from:expr) => {
        impl Element for $t {
            const SIZE: usize = size_of::<$t>();
            const VIEW: &'static str = $view;
            fn to_bits(self) -> u64 {
                let $v = self;
                $to
            }
            fn from_bits(bits: u64) -> Self {
                // Keep the low 8 * SIZE bits; higher lane bits are zero anyway.
                let $b = bits as $unsigned;
                $from
            }
        }
    };
}

// Signed kinds go through their unsigned twin so they are zero-extended, not
// sign-extended: lane bits above the element must be zero.
element!(i8, u8, "Int8View", |v| u64::from(v as u8), |b| b as i8);
element!(u8, u8, "Uint8View", |v| u64::from(v), |b| b);
element!(i16, u16, "Int16View", |v| u64::from(v as u16), |b| b as i16);
element!(u16, u16, "Uint16View", |v| u64::from(v), |b| b);
element!(i32, u32, "Int32View", |v| u64::from(v as u32), |b| b as i32);
element!(u32, u32, "Uint32View", |v| u64::from(v), |b| b);
element!(i64, u64, "BigInt64View", |v| v as u64, |b| b as i64);
element!(u64, u64, "BigUint64View", |v| v, |b| b);
element!(f32, u32, "Float32View", |v| u64::from(v.to_bits()), |b| {
    f32::from_bits(b)
});
element!(
    f64,
    u64,
    "Float64View",
    |v| v.to_bits(),
    |b| f64::from_bits(b)
);
