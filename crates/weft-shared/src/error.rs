//! [`ViewError`]: why a view could not be made over a buffer.

use std::error::Error;
use std::fmt;

/// A typed view does not fit the buffer it was asked to cover.
///
/// Returned by every view's `new` and `with_range`; these are the cases in which
/// JavaScript's typed-array constructors throw a `RangeError`. Each variant carries the
/// numbers involved, so the message says exactly what did not fit.
///
/// # Examples
///
/// ```
/// use weft::shared::{Int32View, SharedBuffer, ViewError};
///
/// let buf = SharedBuffer::new(16);
/// assert_eq!(
///     Int32View::with_range(&buf, 2, 1).unwrap_err(),
///     ViewError::MisalignedOffset { byte_offset: 2, element_size: 4 },
/// );
/// assert_eq!(
///     Int32View::new(&SharedBuffer::new(6)).unwrap_err().to_string(),
///     "buffer length 6 is not a multiple of the element size 4",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ViewError {
    /// `byte_offset` is not a multiple of the element size (JS: "start offset of
    /// Int32Array should be a multiple of 4").
    MisalignedOffset {
        /// The requested byte offset.
        byte_offset: usize,
        /// The view's element size in bytes.
        element_size: usize,
    },
    /// The requested range ends past the end of the buffer (or its end does not even
    /// fit in a `usize`).
    OutOfBounds {
        /// The requested byte offset.
        byte_offset: usize,
        /// The requested length, in elements.
        len: usize,
        /// The view's element size in bytes.
        element_size: usize,
        /// The buffer's length in bytes.
        buffer_len: usize,
    },
    /// A whole-buffer view (`new`) was asked for on a buffer whose length is not a
    /// multiple of the element size (JS: "byte length of Int32Array should be a
    /// multiple of 4").
    LengthNotMultiple {
        /// The buffer's length in bytes.
        buffer_len: usize,
        /// The view's element size in bytes.
        element_size: usize,
    },
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::MisalignedOffset {
                byte_offset,
                element_size,
            } => write!(
                f,
                "byte offset {byte_offset} is not a multiple of the element size {element_size}"
            ),
            Self::OutOfBounds {
                byte_offset,
                len,
                element_size,
                buffer_len,
            } => write!(
                f,
                "{len} elements of {element_size} bytes from byte offset {byte_offset} \
                 do not fit in a buffer of {buffer_len} bytes"
            ),
            Self::LengthNotMultiple {
                buffer_len,
                element_size,
            } => write!(
                f,
                "buffer length {buffer_len} is not a multiple of the element size {element_size}"
            ),
        }
    }
}

impl Error for ViewError {}
