//! [`SharedBuffer`]: the shared, fixed-size, zeroed memory every view looks into.

use std::fmt;
use std::sync::Arc;

use crate::parking::ParkingLot;
use crate::sync::AtomicU64;

/// Bytes in one storage word.
pub(crate) const WORD_BYTES: usize = 8;

/// A fixed-size block of zeroed memory shared between threads: JavaScript's
/// `SharedArrayBuffer`.
///
/// A `SharedBuffer` has no accessors of its own; read and write it through typed views
/// ([`Int32View`](crate::Int32View), [`Uint8View`](crate::Uint8View), ...), any number
/// of them, of any kinds, over any parts of it, from any threads.
///
/// Cloning is cheap (a reference count) and the clone shares the same memory, which is
/// how a buffer is handed to another thread: move a clone (or a view, which holds one)
/// into the job, where JS would `postMessage` the `SharedArrayBuffer`. The memory is
/// freed when the last buffer and view referring to it are dropped.
///
/// Internally the bytes are stored as 8-byte atomic words (see the crate docs,
/// "Soundness: one atomic width"), so the allocation is rounded up to a whole number
/// of words; [`byte_len`](Self::byte_len) reports the length that was asked for and no
/// view can reach past it.
///
/// # Examples
///
/// ```
/// use std::thread;
/// use weft::shared::{Int32View, SharedBuffer};
///
/// let buf = SharedBuffer::new(8);
/// let job = {
///     let view = Int32View::new(&buf)?;
///     thread::spawn(move || view.store(0, 42))
/// };
/// job.join().unwrap();
/// assert_eq!(Int32View::new(&buf)?.load(0), 42);
/// # Ok::<(), weft::shared::ViewError>(())
/// ```
#[derive(Clone)]
pub struct SharedBuffer {
    words: Arc<[AtomicU64]>,
    byte_len: usize,
    parking: ParkingLot,
}

impl SharedBuffer {
    /// Allocates `byte_len` zeroed bytes.
    ///
    /// The memory is zeroed lazily: the allocator asks the operating system for zeroed
    /// pages, which cost time and memory only when first touched, so a 1 GiB buffer is
    /// made in microseconds and takes no memory until it is used.
    ///
    /// A length of zero is allowed (as in JS); such a buffer only admits empty views.
    ///
    /// # Panics
    ///
    /// Panics if the allocation's size overflows `isize` (and aborts, like any Rust
    /// allocation, if memory is exhausted).
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::shared::{SharedBuffer, Uint8View};
    ///
    /// let buf = SharedBuffer::new(3);
    /// assert_eq!(buf.byte_len(), 3);
    /// assert_eq!(Uint8View::new(&buf)?.to_vec(), [0, 0, 0]);
    /// # Ok::<(), weft::shared::ViewError>(())
    /// ```
    pub fn new(byte_len: usize) -> Self {
        Self {
            words: crate::sync::zeroed_words(byte_len.div_ceil(WORD_BYTES)),
            byte_len,
            parking: ParkingLot::new(),
        }
    }

    /// The length in bytes this buffer was created with (JS: `byteLength`).
    pub fn byte_len(&self) -> usize {
        self.byte_len
    }

    /// Whether `self` and `other` share the same memory (one is a clone of the other,
    /// or both are clones of a third).
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::shared::SharedBuffer;
    ///
    /// let buf = SharedBuffer::new(8);
    /// assert!(buf.ptr_eq(&buf.clone()));
    /// assert!(!buf.ptr_eq(&SharedBuffer::new(8)));
    /// ```
    pub fn ptr_eq(&self, other: &SharedBuffer) -> bool {
        Arc::ptr_eq(&self.words, &other.words)
    }

    /// The word holding byte `byte`; `byte` must be below `byte_len`, which the views
    /// guarantee by checking their indices.
    pub(crate) fn word(&self, byte: usize) -> &AtomicU64 {
        &self.words[byte / WORD_BYTES]
    }

    /// The parking key of byte `byte`: the address of its word plus its offset inside
    /// the word. Equal for equal bytes whatever view asks, distinct for distinct bytes
    /// of one buffer (words are at least 8 bytes apart), and inside this buffer's own
    /// allocation, so no other user of the parking lot can be keyed on it while the
    /// buffer lives.
    pub(crate) fn park_key(&self, byte: usize) -> usize {
        std::ptr::from_ref(self.word(byte)).addr() + byte % WORD_BYTES
    }

    /// Where waiters on this buffer's elements queue.
    pub(crate) fn parking(&self) -> &ParkingLot {
        &self.parking
    }
}

impl fmt::Debug for SharedBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBuffer")
            .field("byte_len", &self.byte_len)
            .finish_non_exhaustive()
    }
}
