//! A deliberate data race: `scripts/tsan.sh` builds and runs this first and insists that
//! ThreadSanitizer reports it, so a run of the real tests that reports nothing means "no race
//! seen", not "the sanitizer was not on".

use std::cell::UnsafeCell;
use std::thread;

struct Racy(UnsafeCell<u64>);

// SAFETY: it is not: the race is the point.
unsafe impl Sync for Racy {}

static COUNTER: Racy = Racy(UnsafeCell::new(0));

fn main() {
    // SAFETY: none; two unsynchronised writes to the same memory, on purpose.
    let other = thread::spawn(|| unsafe { *COUNTER.0.get() += 1 });
    // SAFETY: as above.
    unsafe { *COUNTER.0.get() += 1 };
    other.join().unwrap();
}
