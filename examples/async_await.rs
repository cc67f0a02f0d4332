//! Awaiting `JobHandle`s from async code, with a hand-written `block_on`: no async runtime.
//!
//! A `JobHandle<T>` is a `Future<Output = Result<T, JobError>>` (and `Unpin`): when the job
//! finishes, the pool wakes the task that polled it. Here the "executor" is the 20-line
//! `block_on` below: it polls the future and parks the thread until the waker unparks it.
//!
//! ```text
//! cargo run --release --example async_await         # 64 jobs
//! cargo run --release --example async_await -- 8    # 8 jobs (CI); or WEFT_EXAMPLE_SIZE=8
//! ```

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use weft::{JobError, JobHandle, ThreadPool};

/// Wakes the thread blocked in `block_on`.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the calling thread: poll, park until woken, poll again.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut polls = 0u32;
    loop {
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            println!("  (block_on: ready after {polls} polls)");
            return output;
        }
        // A spurious unpark only costs one more poll.
        thread::park();
    }
}

/// Awaits every handle concurrently: polls all of them on each wake-up and returns the
/// results in order once all are in (a hand-rolled `join_all`).
async fn join_all<T>(handles: Vec<JobHandle<T>>) -> Vec<Result<T, JobError>> {
    let mut pending: Vec<Option<JobHandle<T>>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<Result<T, JobError>>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(move |context| {
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(handle) = slot
                && let Poll::Ready(outcome) = Pin::new(handle).poll(context)
            {
                *result = Some(outcome);
                *slot = None;
            }
        }
        if pending.iter().all(Option::is_none) {
            Poll::Ready(
                results
                    .iter_mut()
                    .map(|r| r.take().expect("every job resolved"))
                    .collect(),
            )
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Some CPU work: the number of primes below `limit`.
fn count_primes(limit: u64) -> u64 {
    (2..limit)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

fn main() {
    let jobs: u64 = common::size_from_args("jobs", 64);
    // One line per panic instead of the default message and backtrace: the deliberate
    // panic in step 3 comes back through its handle anyway.
    std::panic::set_hook(Box::new(|info| {
        let thread = thread::current();
        println!(
            "   (panic hook: {} panicked: {info})",
            thread.name().unwrap_or("?")
        );
    }));
    let pool = ThreadPool::new(2).expect("a pool");

    println!("1. await one job:");
    let primes = block_on(async { pool.spawn(|| count_primes(100_000)).await });
    let primes = primes.expect("the job succeeded");
    assert_eq!(primes, 9592);
    println!("   primes below 100,000: {primes}");

    println!("2. await {jobs} jobs concurrently (results in order):");
    let start = Instant::now();
    let handles: Vec<_> = (0..jobs)
        .map(|i| pool.spawn(move || count_primes(10_000 + i * 100)))
        .collect();
    let results = block_on(join_all(handles));
    let counts: Vec<u64> = results
        .into_iter()
        .map(|r| r.expect("no job failed"))
        .collect();
    let expected: Vec<u64> = (0..jobs).map(|i| count_primes(10_000 + i * 100)).collect();
    assert_eq!(counts, expected);
    println!(
        "   {} results in {:.1?}, first {:?}, last {:?}",
        counts.len(),
        start.elapsed(),
        counts.first(),
        counts.last()
    );

    println!("3. a panic arrives as an error, not a crash:");
    let outcome = block_on(async {
        pool.spawn(|| -> u64 { panic!("deliberate panic in a job") })
            .await
    });
    match outcome {
        Err(error @ JobError::Panicked(_)) => {
            assert_eq!(error.panic_message(), Some("deliberate panic in a job"));
            println!("   got JobError: {error}");
        }
        other => panic!("expected a panic, got {other:?}"),
    }

    println!("4. async code chaining jobs: each step awaits the previous one's result:");
    let chained = block_on(async {
        let a = pool.spawn(|| count_primes(20_000)).await?;
        let b = pool.spawn(move || a * 2).await?;
        let c = pool.spawn(move || b + 1).await?;
        Ok::<u64, JobError>(c)
    });
    assert_eq!(chained.expect("the chain succeeded"), 2262 * 2 + 1);
    println!(
        "   primes below 20,000, doubled, plus one: {}",
        2262 * 2 + 1
    );

    println!("5. a job that outlives a short wait keeps running; await it later:");
    let slow = pool.spawn(|| {
        thread::sleep(Duration::from_millis(50));
        "slow job done"
    });
    let message = block_on(slow).expect("the slow job succeeded");
    println!("   {message}");
    let stats = pool.stats();
    println!(
        "pool stats: {} submitted, {} completed, {} panicked",
        stats.submitted, stats.completed, stats.panicked
    );
    assert_eq!(stats.submitted, stats.completed + stats.panicked);
}
