//! Negative API tests, as `compile_fail` doctests (rayon's habit): what must not compile.

/// A channel of a `!Send` payload cannot cross threads, neither half:
///
/// ```compile_fail,E0277
/// let (tx, rx) = weft_channel::oneshot::<std::rc::Rc<u8>>();
/// std::thread::spawn(move || drop(tx));
/// ```
///
/// ```compile_fail,E0277
/// let (tx, rx) = weft_channel::oneshot::<std::rc::Rc<u8>>();
/// std::thread::spawn(move || drop(rx));
/// ```
///
/// The same type with a `Send` payload does:
///
/// ```
/// let (tx, rx) = weft_channel::oneshot::<std::sync::Arc<u8>>();
/// std::thread::spawn(move || drop(tx)).join().unwrap();
/// drop(rx);
/// ```
pub mod oneshot_needs_send_payloads {}

/// A oneshot value is received once: `recv` consumes the receiver.
///
/// ```compile_fail,E0382
/// let (tx, rx) = weft_channel::oneshot::<u8>();
/// tx.send(1).unwrap();
/// let _ = rx.recv();
/// let _ = rx.recv();
/// ```
///
/// and sent once: `send` consumes the sender.
///
/// ```compile_fail,E0382
/// let (tx, rx) = weft_channel::oneshot::<u8>();
/// let _ = tx.send(1);
/// let _ = tx.send(2);
/// ```
pub mod oneshot_is_used_once {}

/// A port whose payloads are not `Send` stays on its thread, in either direction:
///
/// ```compile_fail,E0277
/// let (a, b) = weft_channel::duplex::<std::rc::Rc<u8>, u8>();
/// std::thread::spawn(move || drop(b));
/// ```
///
/// ```compile_fail,E0277
/// let (a, b) = weft_channel::duplex::<u8, std::rc::Rc<u8>>();
/// std::thread::spawn(move || drop(a));
/// ```
pub mod port_needs_send_payloads {}

/// A port is not `Clone`: each end has one owner (share it by reference; it is `Sync`).
///
/// ```compile_fail,E0599
/// let (a, _b) = weft_channel::duplex::<u8, u8>();
/// let _c = a.clone();
/// ```
pub mod port_is_not_clone {}
