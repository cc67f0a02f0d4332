//! Node's worker message round trip, with `spawn_worker`.
//!
//! The seed, in Node:
//!
//! ```js
//! const worker = new Worker('./worker.js');
//! worker.postMessage('Start computation');
//! worker.on('message', (msg) => console.log(msg));   // "Computation result: ..."
//! // worker.js
//! parentPort.on('message', (msg) => {
//!     let result = 0; for (let i = 0; i < 1e6; i++) result += i;
//!     parentPort.postMessage(`Computation result: ${result}`);
//! });
//! ```
//!
//! Then the same port used the way a long-lived worker is: a stream of tasks in, progress
//! and results out, `join` for the exit value, `cancel` to stop one early.
//!
//! Run: `cargo run --release --example messages [-- N]` (N: how far the computation sums,
//! default 1,000,000; or `WEFT_EXAMPLE_SIZE=N`).

mod common;

use std::time::Duration;

use weft::{ThreadPool, WorkerContext};

fn main() {
    let n: u64 = common::size_from_args("N: how far the computation sums", 1_000_000);
    let pool = ThreadPool::new(2).expect("start the pool");

    // The seed: one message in, one message out.
    let worker = pool.spawn_worker(move |ctx: WorkerContext<String, String>| {
        let message = ctx.recv().expect("the main side sends a task");
        assert_eq!(message, "Start computation");
        let result: u64 = (0..n).map(std::hint::black_box).sum();
        ctx.send(format!("Computation result: {result}"))
            .expect("the main side is listening");
    });
    worker
        .send("Start computation".to_string())
        .expect("the worker is alive");
    let reply = worker.recv().expect("the worker replies");
    println!("main received: {reply}");
    assert_eq!(reply, format!("Computation result: {}", n * (n - 1) / 2));
    worker.join().expect("the worker exits normally");

    // A long-lived worker: tasks in, results out, until the main side stops sending.
    let squarer = pool.spawn_worker(|ctx: WorkerContext<u64, (u64, u64)>| {
        let mut handled = 0;
        for task in std::iter::from_fn(|| ctx.recv().ok()) {
            ctx.send((task, task * task))
                .expect("the main side is listening");
            handled += 1;
        }
        handled
    });
    for task in 1..=5 {
        squarer.send(task).expect("the worker is alive");
    }
    let results: Vec<(u64, u64)> = (0..5).map(|_| squarer.recv().expect("a result")).collect();
    println!("squares: {results:?}");
    assert_eq!(results[4], (5, 25));
    println!(
        "the squarer handled {} tasks",
        squarer.join().expect("exit value")
    );

    // Cancelling a worker that waits for input: its recv ends, it reports and exits.
    let waiter = pool.spawn_worker(|ctx: WorkerContext<(), &'static str>| {
        ctx.send("ready").expect("the main side is listening");
        let end = ctx.recv();
        if ctx.is_cancelled() {
            "stopped by cancel"
        } else {
            assert!(end.is_ok());
            "got a message"
        }
    });
    assert_eq!(waiter.recv_timeout(Duration::from_secs(10)), Ok("ready"));
    waiter.cancel();
    let exit = waiter.join().expect("exit value");
    println!("the waiting worker exited: {exit}");
    assert_eq!(exit, "stopped by cancel");
}
