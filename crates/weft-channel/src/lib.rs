//! weft's channels: one-value result slots and two-way message ports.
//!
//! This crate is part of weft: users reach it as `weft::channel` (the `weft` crate
//! re-exports it), and the examples below are written that way.
//!
//! - [`oneshot`]: one value, sent once, received once, in one heap allocation. Receive by
//!   blocking ([`OneshotReceiver::recv`], [`recv_timeout`](OneshotReceiver::recv_timeout)),
//!   by polling ([`try_recv`](OneshotReceiver::try_recv)) or with `.await`. Sending
//!   happens-before every way of receiving.
//! - [`duplex`] and [`duplex_bounded`]: Node's `MessageChannel`, a pair of connected
//!   [`Port`]s on crossbeam-channel queues, with Node's closing rules: messages are never
//!   lost on close, a message sent into a closed direction comes back in the error.
//! - The errors, one per operation, crossbeam style: [`SendError`] and [`TrySendError`]
//!   hand the message back, [`RecvError`], [`TryRecvError`], [`RecvTimeoutError`].
//!
//! # From Node
//!
//! | Node                                      | weft                                   |
//! |-------------------------------------------|----------------------------------------|
//! | `const { port1, port2 } = new MessageChannel()` | `let (port1, port2) = duplex()`  |
//! | `port.postMessage(value)`                 | [`port.send(value)`](Port::send)       |
//! | `port.on('message', f)`                   | [`port.recv()`](Port::recv), [`for m in port.iter()`](Port::iter) |
//! | `port.close()`                            | [`port.close()`](Port::close)          |
//! | the `'close'` event                       | `recv` returning [`RecvError`] once drained |
//! | a `Promise` for one result                | [`oneshot`], awaited or received       |
//!
//! Ports are typed in each direction: `Port<S, R>` sends `S` and receives `R`, and its peer
//! is a `Port<R, S>`. [`Port::close_send`] is a half-close Node does not have: it ends one
//! direction only (the pool uses it to wake a cancelled worker job blocked in `recv`).
//!
//! # Examples
//!
//! ```
//! use weft::channel::{duplex, oneshot};
//!
//! // A one-off result.
//! let (tx, rx) = oneshot();
//! std::thread::spawn(move || tx.send(21 * 2).unwrap());
//! assert_eq!(rx.recv(), Ok(42));
//!
//! // A conversation.
//! let (main, job) = duplex::<String, String>();
//! let worker = std::thread::spawn(move || {
//!     let request = job.recv().unwrap();
//!     job.send(format!("Computation result: {}", request.len())).unwrap();
//! });
//! main.send("Start computation".to_string()).unwrap();
//! assert_eq!(main.recv().unwrap(), "Computation result: 17");
//! worker.join().unwrap();
//! assert!(main.recv().is_err()); // the job's port is gone and drained
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(doctest)]
mod compile_fail;
mod error;
#[cfg(all(test, weft_loom))]
mod loom_tests;
mod oneshot;
mod port;
// Public only so that this crate's integration tests (tests/miri.rs) can drive the raw
// protocol under miri: hidden from the docs and outside semver (see the module's docs).
// weft-core used to embed it; its jobs now have their own state word (job/heap.rs).
#[doc(hidden)]
pub mod slot;
mod sync;

pub use error::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
pub use oneshot::{OneshotReceiver, OneshotSender, oneshot};
pub use port::{IntoIter, Iter, Port, TryIter, duplex, duplex_bounded};
