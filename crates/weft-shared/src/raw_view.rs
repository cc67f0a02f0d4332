//! [`RawView`]: the typed-view machinery every public view type wraps.
//!
//! Range checks at construction, index checks on access, element <-> lane bits, and
//! the bulk helpers live here once, generic over the element type; `views.rs` only
//! adds the public names and docs.

use std::fmt;
use std::marker::PhantomData;

use crate::buffer::{SharedBuffer, WORD_BYTES};
use crate::element::Element;
use crate::error::ViewError;
use crate::lane::Lane;

/// `len` elements of type `T` starting at `byte_offset` in `buffer`.
///
/// Invariant (checked by the constructors): `byte_offset` is a multiple of `T::SIZE`
/// and `byte_offset + len * T::SIZE <= buffer.byte_len()`, so every element lies inside
/// the buffer and inside one word.
pub(crate) struct RawView<T> {
    buffer: SharedBuffer,
    byte_offset: usize,
    len: usize,
    _element: PhantomData<fn() -> T>,
}

// Manual, so `T` needs no `Clone` bound beyond what `Element` has.
impl<T> Clone for RawView<T> {
    fn clone(&self) -> Self {
        Self {
            buffer: self.buffer.clone(),
            byte_offset: self.byte_offset,
            len: self.len,
            _element: PhantomData,
        }
    }
}

impl<T: Element> fmt::Debug for RawView<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(T::VIEW)
            .field("byte_offset", &self.byte_offset)
            .field("len", &self.len)
            .finish()
    }
}

impl<T: Element> RawView<T> {
    /// A view of the whole buffer.
    pub(crate) fn whole(buffer: &SharedBuffer) -> Result<Self, ViewError> {
        let buffer_len = buffer.byte_len();
        if !buffer_len.is_multiple_of(T::SIZE) {
            return Err(ViewError::LengthNotMultiple {
                buffer_len,
                element_size: T::SIZE,
            });
        }
        Ok(Self::unchecked(buffer, 0, buffer_len / T::SIZE))
    }

    /// A view of `len` elements from `byte_offset`.
    pub(crate) fn range(
        buffer: &SharedBuffer,
        byte_offset: usize,
        len: usize,
    ) -> Result<Self, ViewError> {
        if !byte_offset.is_multiple_of(T::SIZE) {
            return Err(ViewError::MisalignedOffset {
                byte_offset,
                element_size: T::SIZE,
            });
        }
        let buffer_len = buffer.byte_len();
        let fits = len
            .checked_mul(T::SIZE)
            .and_then(|bytes| byte_offset.checked_add(bytes))
            .is_some_and(|end| end <= buffer_len);
        if !fits {
            return Err(ViewError::OutOfBounds {
                byte_offset,
                len,
                element_size: T::SIZE,
                buffer_len,
            });
        }
        Ok(Self::unchecked(buffer, byte_offset, len))
    }

    fn unchecked(buffer: &SharedBuffer, byte_offset: usize, len: usize) -> Self {
        // An aligned element never straddles two words (sizes divide the word size).
        debug_assert!(WORD_BYTES.is_multiple_of(T::SIZE) && byte_offset.is_multiple_of(T::SIZE));
        Self {
            buffer: buffer.clone(),
            byte_offset,
            len,
            _element: PhantomData,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn buffer(&self) -> &SharedBuffer {
        &self.buffer
    }

    pub(crate) fn byte_offset(&self) -> usize {
        self.byte_offset
    }

    /// Byte offset of element `index` in the buffer, after checking the index.
    #[track_caller]
    fn byte_of(&self, index: usize) -> usize {
        if index >= self.len {
            index_out_of_range(index, self.len, T::VIEW);
        }
        self.byte_offset + index * T::SIZE
    }

    /// The lane of element `index`.
    ///
    /// # Panics
    ///
    /// If `index >= len`, naming the index, the view type and the length.
    #[track_caller]
    pub(crate) fn lane(&self, index: usize) -> Lane<'_> {
        let byte = self.byte_of(index);
        Lane::new(self.buffer.word(byte), byte % WORD_BYTES, T::SIZE)
    }

    /// The parking key of element `index` (its byte address); the same for every view
    /// over the same bytes.
    #[track_caller]
    pub(crate) fn park_key(&self, index: usize) -> usize {
        self.buffer.park_key(self.byte_of(index))
    }

    #[track_caller]
    pub(crate) fn load(&self, index: usize) -> T {
        T::from_bits(self.lane(index).load())
    }

    #[track_caller]
    pub(crate) fn store(&self, index: usize, value: T) {
        self.lane(index).store(value.to_bits());
    }

    /// Applies a lane operation to element `index` with `value`, returning the old
    /// element.
    #[track_caller]
    pub(crate) fn rmw(&self, index: usize, value: T, op: impl FnOnce(Lane<'_>, u64) -> u64) -> T {
        T::from_bits(op(self.lane(index), value.to_bits()))
    }

    #[track_caller]
    pub(crate) fn compare_exchange(&self, index: usize, expected: T, replacement: T) -> T {
        T::from_bits(
            self.lane(index)
                .compare_exchange(expected.to_bits(), replacement.to_bits()),
        )
    }

    /// Replaces element `index` with `f(old)` in one atomic step; returns the old one.
    #[track_caller]
    pub(crate) fn update(&self, index: usize, mut f: impl FnMut(T) -> T) -> T {
        T::from_bits(
            self.lane(index)
                .update(|bits| f(T::from_bits(bits)).to_bits()),
        )
    }

    pub(crate) fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = T> + ExactSizeIterator + std::iter::FusedIterator + '_
    {
        (0..self.len).map(|index| self.load(index))
    }

    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }

    #[track_caller]
    pub(crate) fn copy_from_slice(&self, source: &[T]) {
        if source.len() != self.len {
            length_mismatch(source.len(), self.len, T::VIEW);
        }
        for (index, &value) in source.iter().enumerate() {
            self.store(index, value);
        }
    }
}

#[cold]
#[track_caller]
fn index_out_of_range(index: usize, len: usize, view: &str) -> ! {
    panic!("index {index} out of range for {view} of length {len}")
}

#[cold]
#[track_caller]
fn length_mismatch(source: usize, len: usize, view: &str) -> ! {
    panic!("source slice length ({source}) does not match {view} length ({len})")
}
