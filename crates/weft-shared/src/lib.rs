//! weft's shared memory: JavaScript's `SharedArrayBuffer`, typed arrays and `Atomics`,
//! made sound in Rust.
//!
//! A [`SharedBuffer`] is a fixed-size block of zeroed memory that any number of threads
//! (or pool jobs) share by cloning it. Typed views over it ([`Int32View`],
//! [`Uint8View`], [`Float64View`], ... one per JS typed-array kind) read and write its
//! elements with atomic, sequentially consistent operations, and integer views can
//! [`wait`](Int32View::wait) on an element until another thread
//! [`notify`](Int32View::notify)s it. No safe call can cause undefined behaviour, even
//! when views of different widths over the same bytes race from many threads.
//!
//! This crate is part of weft: users reach it as `weft::shared` (the `weft` crate
//! re-exports it), and the examples here are written that way.
//!
//! ```
//! use std::thread;
//! use weft::shared::{Int32View, SharedBuffer};
//!
//! let buf = SharedBuffer::new(4 * 4); // like new SharedArrayBuffer(16)
//! let counters = Int32View::new(&buf)?; // like new Int32Array(buf)
//! let workers: Vec<_> = (0..4)
//!     .map(|i| {
//!         let counters = counters.clone(); // like postMessage(buf)
//!         thread::spawn(move || {
//!             for _ in 0..1000 {
//!                 counters.add(i, 1); // like Atomics.add(counters, i, 1)
//!             }
//!         })
//!     })
//!     .collect();
//! for worker in workers {
//!     worker.join().unwrap();
//! }
//! assert_eq!(counters.to_vec(), [1000, 1000, 1000, 1000]);
//! # Ok::<(), weft::shared::ViewError>(())
//! ```
//!
//! # JS -> weft
//!
//! | JavaScript | weft | difference |
//! |---|---|---|
//! | `new SharedArrayBuffer(n)` | [`SharedBuffer::new(n)`](SharedBuffer::new) | fixed size (no `grow`) |
//! | `sab.byteLength` | [`buf.byte_len()`](SharedBuffer::byte_len) | |
//! | `postMessage(sab)` to a worker | move `buf.clone()` (or a view) into the job | a clone shares the memory |
//! | `new Int32Array(sab)` | [`Int32View::new(&buf)?`](Int32View::new) | `RangeError` -> [`ViewError`] |
//! | `new Int32Array(sab, byteOffset, length)` | [`Int32View::with_range(&buf, byte_offset, len)?`](Int32View::with_range) | `len` is required |
//! | `Int8Array`, `Uint8Array`, `Int16Array`, `Uint16Array`, `Uint32Array` | [`Int8View`], [`Uint8View`], [`Int16View`], [`Uint16View`], [`Uint32View`] | no `Uint8ClampedArray` |
//! | `BigInt64Array`, `BigUint64Array` | [`BigInt64View`], [`BigUint64View`] | `i64`/`u64`, not `BigInt` |
//! | `Float32Array`, `Float64Array` | [`Float32View`], [`Float64View`] | atomic load/store, plus atomic [`add`](Float64View::add) |
//! | `ta.length`, `ta.byteOffset`, `ta.byteLength`, `ta.buffer` | `len()`, `byte_offset()`, `byte_len()`, `buffer()` | |
//! | `Int32Array.BYTES_PER_ELEMENT` | [`Int32View::BYTES_PER_ELEMENT`] | |
//! | `ta[i]`, `ta[i] = v` | [`load(i)`](Int32View::load), [`store(i, v)`](Int32View::store) | always atomic (SeqCst); out of range panics (JS reads `undefined`, drops the write) |
//! | `Atomics.load(ta, i)` / `Atomics.store(ta, i, v)` | [`view.load(i)`](Int32View::load) / [`view.store(i, v)`](Int32View::store) | `store` returns `()` |
//! | `Atomics.add` / `sub` / `and` / `or` / `xor` / `exchange` | [`view.add(i, v)`](Int32View::add) / [`sub`](Int32View::sub) / [`and`](Int32View::and) / [`or`](Int32View::or) / [`xor`](Int32View::xor) / [`exchange`](Int32View::exchange) | return the old value, wrap, as in JS |
//! | `Atomics.compareExchange(ta, i, e, r)` | [`view.compare_exchange(i, e, r)`](Int32View::compare_exchange) | returns the old value, as in JS |
//! | `Atomics.wait(ta, i, v, ms)` | [`view.wait(i, v, Some(duration))`](Int32View::wait) | `None` = no timeout; every integer kind, not only `Int32`/`BigInt64` |
//! | `"ok"` / `"not-equal"` / `"timed-out"` | [`WaitResult::Ok`] / [`NotEqual`](WaitResult::NotEqual) / [`TimedOut`](WaitResult::TimedOut) | |
//! | `Atomics.notify(ta, i, count)` | [`view.notify(i, count)`](Int32View::notify) | `count` omitted (+Infinity) = `usize::MAX` |
//! | `Atomics.isLockFree(n)` | [`is_lock_free(n)`](is_lock_free) | 1, 2, 4 and 8 are all `true` (see below) |
//! | `Array.from(ta)`, `ta.set(array)`, `for (x of ta)` | [`to_vec()`](Int32View::to_vec), [`copy_from_slice(&array)`](Int32View::copy_from_slice), [`iter()`](Int32View::iter) | element-wise atomic, not one snapshot |
//! | a `RangeError` from `Atomics` (index out of range) | a panic naming the index and the length | like slice indexing |
//!
//! Values are typed: where JS converts any `Number` with `ToInt32` and friends, a Rust
//! caller passes an `i32` to an [`Int32View`] (use `as` for JS's modular conversion).
//! There is no counterpart of `Atomics.waitAsync`, and buffers are never detached or
//! resized.
//!
//! # Soundness: one atomic width
//!
//! JS lets an `Int8Array` and an `Int32Array` over one buffer race; in Rust, racing
//! atomic accesses of different sizes to the same bytes are undefined behaviour. weft
//! therefore never makes a narrow atomic access (the choice is argued in the repository's
//! `docs/design.md`, "Shared memory: one atomic width"):
//!
//! - A buffer's memory is an array of 8-byte [`AtomicU64`](std::sync::atomic::AtomicU64)
//!   words, zeroed, rounded up to whole words ([`SharedBuffer::byte_len`] still reports
//!   the requested length, and no view reaches past it).
//! - An element at byte offset `o` lives in word `o / 8` at bit shift `8 * (o % 8)`:
//!   little-endian, like JS on every platform. View offsets must be multiples of the
//!   element size (as in JS), so no element straddles two words.
//! - Every access of every view kind is an atomic operation on the containing word:
//!   a load is one word load and a shift; `and`/`or`/`xor` are one
//!   `fetch_and`/`fetch_or`/`fetch_xor` with the other elements' bits masked neutral;
//!   `add`/`sub` on the top element of a word is one `fetch_add`/`fetch_sub` (the carry
//!   out of bit 63 is exactly the element's wrap-around); 64-bit kinds use the native
//!   operations directly; everything else (narrow `store`, `exchange`,
//!   `compare_exchange`, lower-element `add`/`sub`, float `add`) is a
//!   `compare_exchange_weak` loop that replaces only the element's bits.
//!
//! The price: a narrow store or exchange is a CAS loop where JS engines use one plain
//! instruction, and it retries when another thread changes a neighbouring element of
//! the same word (still lock-free). Loads, bitwise operations and 64-bit operations
//! cost the same as native ones. The tests race views of different widths over the same
//! words under miri, which checks for exactly this kind of undefined behaviour.
//!
//! # Memory ordering
//!
//! Every operation is `SeqCst`, as every JS `Atomics` operation is sequentially
//! consistent: all atomic operations on all buffers take place in one total order that
//! all threads agree on, and a value a thread writes before an operation that another
//! thread observes is visible to that other thread afterwards. In particular a
//! `store`, then `notify`, happens-before the woken waiter's return from `wait`.
//!
//! # Waiting and notifying
//!
//! [`wait`](Int32View::wait) and [`notify`](Int32View::notify) follow JS: `wait`
//! returns [`WaitResult::NotEqual`] at once when the element does not hold the expected
//! value, [`WaitResult::TimedOut`] when its timeout passes, and [`WaitResult::Ok`] only
//! when a `notify` woke it, never for a spurious wake-up. `notify` wakes waiters in the
//! order they started waiting and returns how many it woke. Waiters queue on the
//! element's byte address (like JS's per-byte-index waiter lists), so any two views over
//! the same bytes, however they were made, wait and notify on the same queue. The
//! queues are parking_lot_core's: the value check runs under the queue's lock, which
//! `notify` also takes, so a wake-up cannot slip in between the check and the sleep.
//!
//! Here is a lock built from `compare_exchange`, `wait` and `notify` (0 = free,
//! 1 = held, 2 = held with waiters), guarding a counter in the same buffer:
//!
//! ```
//! use std::thread;
//! use weft::shared::{Int32View, SharedBuffer};
//!
//! fn lock(state: &Int32View) {
//!     if state.compare_exchange(0, 0, 1) != 0 {
//!         while state.exchange(0, 2) != 0 {
//!             state.wait(0, 2, None);
//!         }
//!     }
//! }
//! fn unlock(state: &Int32View) {
//!     if state.exchange(0, 0) == 2 {
//!         state.notify(0, 1);
//!     }
//! }
//!
//! let buf = SharedBuffer::new(8);
//! let state = Int32View::with_range(&buf, 0, 1)?;
//! let counter = Int32View::with_range(&buf, 4, 1)?;
//! let threads: Vec<_> = (0..2)
//!     .map(|_| {
//!         let (state, counter) = (state.clone(), counter.clone());
//!         thread::spawn(move || {
//!             for _ in 0..100 {
//!                 lock(&state);
//!                 counter.store(0, counter.load(0) + 1); // not an atomic add: the lock guards it
//!                 unlock(&state);
//!             }
//!         })
//!     })
//!     .collect();
//! threads.into_iter().for_each(|t| t.join().unwrap());
//! assert_eq!(counter.load(0), 200);
//! # Ok::<(), weft::shared::ViewError>(())
//! ```
//!
//! Float views have no bitwise operations and no wait/notify:
//!
//! ```compile_fail
//! let view = weft::shared::Float32View::new(&weft::shared::SharedBuffer::new(4)).unwrap();
//! view.wait(0, 0.0, None);
//! ```
//!
//! # Lock freedom
//!
//! [`is_lock_free`] follows JS's rules. Since every element is accessed through its
//! 8-byte word, sizes 1, 2, 4 and 8 are all lock-free on every platform this crate
//! builds on (it needs native 64-bit atomics).
//!
//! # Unsafe code
//!
//! One private module calls parking_lot_core's `unsafe fn park` and `unpark_filter`,
//! each call with a `// SAFETY:` argument; everything else is safe Rust, and the crate
//! denies `unsafe_code` outside that module.

// Implementation map (one concept per module):
// - `sync`: atomics from std, or from loom under `cfg(all(test, weft_loom))`;
// - `buffer`: `SharedBuffer`, the `Arc<[AtomicU64]>` storage and park keys;
// - `lane`: one element's bits inside its word, every op as word-sized atomics;
// - `element`: element types <-> lane bits;
// - `raw_view`: range and index checks and bulk helpers, generic over the element;
// - `views`: the ten public view types, generated by macros over `RawView`;
// - `wait`: `WaitResult`, `wait`/`notify` on top of `parking`;
// - `parking`: FIFO waiter queues per key: parking_lot_core, or a loom model;
// - `error`, `lock_free`: `ViewError`, `is_lock_free`.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

mod buffer;
mod element;
mod error;
mod lane;
mod lock_free;
mod parking;
mod raw_view;
mod sync;
mod views;
mod wait;

pub use buffer::SharedBuffer;
pub use error::ViewError;
pub use lock_free::is_lock_free;
pub use views::{
    BigInt64View, BigUint64View, Float32View, Float64View, Int8View, Int16View, Int32View,
    Uint8View, Uint16View, Uint32View,
};
pub use wait::WaitResult;
