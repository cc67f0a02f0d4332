//! Threads racing views of different widths over the same words, and a lock built
//! from compare_exchange + wait + notify. Results are checked exactly. These run under
//! miri too (with fewer iterations), which would flag any mixed-size atomic access or
//! data race.

use std::thread;

use weft_shared::*;

/// Iterations per thread.
const N: usize = if cfg!(miri) { 40 } else { 20_000 };
const _: () = assert!(N.is_multiple_of(4), "each byte lane gets N / 4 adds");

/// Runs each closure on its own thread and waits for all of them.
fn race(jobs: Vec<Box<dyn FnOnce() + Send>>) {
    let threads: Vec<_> = jobs.into_iter().map(thread::spawn).collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn byte_adds_and_int32_adds_in_one_word_lose_no_update() {
    let buf = SharedBuffer::new(8);
    let low_bytes = Uint8View::with_range(&buf, 0, 4).unwrap();
    let high_half = Int32View::with_range(&buf, 4, 1).unwrap();
    let (bytes, half) = (low_bytes.clone(), high_half.clone());
    race(vec![
        Box::new(move || {
            for k in 0..N {
                bytes.add(k % 4, 1); // CAS loops on lower lanes
            }
        }),
        Box::new(move || {
            for _ in 0..N {
                half.add(0, 1); // a native fetch_add on the top lane
            }
        }),
    ]);
    assert_eq!(low_bytes.to_vec(), [(N / 4) as u8; 4]);
    assert_eq!(high_half.load(0), N as i32);
}

#[test]
fn narrow_stores_do_not_clobber_a_racing_top_lane_add() {
    let buf = SharedBuffer::new(8);
    let byte = Int8View::with_range(&buf, 0, 1).unwrap();
    let pair = Uint16View::with_range(&buf, 2, 1).unwrap();
    let high = Uint32View::with_range(&buf, 4, 1).unwrap();
    let (b, p, h) = (byte.clone(), pair.clone(), high.clone());
    race(vec![
        Box::new(move || {
            for k in 0..N {
                b.store(0, k as i8);
                p.exchange(0, k as u16);
            }
        }),
        Box::new(move || {
            for _ in 0..N {
                h.add(0, 3);
            }
        }),
    ]);
    assert_eq!(byte.load(0), (N - 1) as i8);
    assert_eq!(pair.load(0), (N - 1) as u16);
    assert_eq!(high.load(0), 3 * N as u32);
}

#[test]
fn or_through_three_widths_on_the_same_bytes_sets_every_bit_once() {
    // 16 bytes = 128 bits; bit b belongs to thread b % 3, which sets it through its own
    // view width. Each bit is set exactly once, so each `or` must see it clear.
    let buf = SharedBuffer::new(16);
    let u8s = Uint8View::new(&buf).unwrap();
    let u16s = Uint16View::new(&buf).unwrap();
    let u64s = BigUint64View::new(&buf).unwrap();
    let rounds = if cfg!(miri) { 1 } else { 50 };
    for _ in 0..rounds {
        u64s.copy_from_slice(&[0, 0]);
        let (a, b, c) = (u8s.clone(), u16s.clone(), u64s.clone());
        race(vec![
            Box::new(move || {
                for bit in (0..128).filter(|bit| bit % 3 == 0) {
                    let mask = 1u8 << (bit % 8);
                    assert_eq!(a.or(bit / 8, mask) & mask, 0);
                }
            }),
            Box::new(move || {
                for bit in (0..128).filter(|bit| bit % 3 == 1) {
                    let mask = 1u16 << (bit % 16);
                    assert_eq!(b.or(bit / 16, mask) & mask, 0);
                }
            }),
            Box::new(move || {
                for bit in (0..128).filter(|bit| bit % 3 == 2) {
                    let mask = 1u64 << (bit % 64);
                    assert_eq!(c.or(bit / 64, mask) & mask, 0);
                }
            }),
        ]);
        assert_eq!(u64s.to_vec(), [u64::MAX, u64::MAX]);
    }
}

#[test]
fn compare_exchange_counters_in_neighbouring_lanes_stay_exact() {
    let buf = SharedBuffer::new(8);
    let lanes = Uint16View::new(&buf).unwrap();
    let wide = BigInt64View::new(&buf).unwrap();
    let jobs: Vec<Box<dyn FnOnce() + Send>> = (0..3)
        .map(|lane| {
            let lanes = lanes.clone();
            Box::new(move || {
                for _ in 0..N {
                    // Increment through a hand-written CAS loop on a 16-bit lane.
                    let mut current = lanes.load(lane);
                    loop {
                        let seen = lanes.compare_exchange(lane, current, current.wrapping_add(1));
                        if seen == current {
                            break;
                        }
                        current = seen;
                    }
                }
            }) as Box<dyn FnOnce() + Send>
        })
        .chain(std::iter::once(Box::new(move || {
            for _ in 0..N {
                wide.add(0, 1 << 48); // the top 16-bit lane, through the whole word
            }
        }) as Box<dyn FnOnce() + Send>))
        .collect();
    race(jobs);
    let n = N as u16;
    assert_eq!(lanes.to_vec(), [n, n, n, n]);
}

/// A futex-style lock (0 free, 1 held, 2 held with waiters) in one Int32 element.
struct Lock(Int32View);

impl Lock {
    fn lock(&self) {
        if self.0.compare_exchange(0, 0, 1) != 0 {
            while self.0.exchange(0, 2) != 0 {
                self.0.wait(0, 2, None);
            }
        }
    }

    fn unlock(&self) {
        if self.0.exchange(0, 0) == 2 {
            self.0.notify(0, 1);
        }
    }
}

#[test]
fn lock_from_compare_exchange_wait_notify_guards_a_plain_counter_for_4_threads() {
    // The lock is bytes 0..4, the counter bytes 4..8 of the same word, read and written
    // with separate load and store calls: only the lock keeps increments from being lost.
    let buf = SharedBuffer::new(8);
    let counter = Uint32View::with_range(&buf, 4, 1).unwrap();
    let per_thread = if cfg!(miri) { 20 } else { 5_000 };
    let jobs = (0..4)
        .map(|_| {
            let lock = Lock(Int32View::with_range(&buf, 0, 1).unwrap());
            let counter = counter.clone();
            Box::new(move || {
                for _ in 0..per_thread {
                    lock.lock();
                    let value = counter.load(0);
                    thread::yield_now(); // widen the window a lost update would need
                    counter.store(0, value + 1);
                    lock.unlock();
                }
            }) as Box<dyn FnOnce() + Send>
        })
        .collect();
    race(jobs);
    assert_eq!(counter.load(0), 4 * per_thread);
    assert_eq!(Int32View::with_range(&buf, 0, 1).unwrap().load(0), 0);
}

#[test]
fn notify_after_store_never_strands_a_waiter() {
    // Many rounds of the flag handshake the seed examples use: a waiter that saw 0
    // either gets woken by the single notify or sees the 1.
    let rounds = if cfg!(miri) { 5 } else { 500 };
    for _ in 0..rounds {
        let flag = Int32View::new(&SharedBuffer::new(4)).unwrap();
        let waiter = {
            let flag = flag.clone();
            thread::spawn(move || flag.wait(0, 0, None))
        };
        flag.store(0, 1);
        let woken = flag.notify(0, 1);
        let result = waiter.join().unwrap();
        assert_eq!(
            woken == 1,
            result == WaitResult::Ok,
            "{result:?}, woke {woken}"
        );
        assert_ne!(result, WaitResult::TimedOut);
    }
}
