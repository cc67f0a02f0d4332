//! The dataflow worker thread: one timely worker per process, fed by `map` calls.
//!
//! Every `map` call becomes one small timely dataflow, built in the same order on every
//! process (SPMD), so timely matches them up by their place in that order:
//!
//! ```text
//! leader's items ──exchange(index % processes)──▶ run (this process's share on its weft pool)
//!     ──exchange(to 0)──▶ collect (the leader keeps the outcomes)
//! ```
//!
//! `run` waits until its input frontier is empty (every item of its share arrived), runs
//! the share with `pool.map` on this process's weft pool, and sends the outcomes on. A call
//! is finished on a process when its dataflow has completed there (timely retires it):
//! then every process's outcomes have been consumed by the leader's `collect`, so a
//! process that returns from `map` and exits loses nothing.
//!
//! The thread never spins: timely's `idle_spin` is zero and it parks until network data,
//! a new call or a change in the [`Watch`] wakes it.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use timely::WorkerConfig;
use timely::communication::allocator::Allocator;
use timely::communication::allocator::zero_copy::allocator::TcpBuilder;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandle;
use timely::dataflow::channels::pact::{ExchangeCore, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Exchange, Input};
use timely::worker::Worker;
use weft_core::ThreadPool;

use crate::error::panic_message;
use crate::link::Watch;
use crate::wire::{Job, WireItem, WireResult};

/// How long a call may stay unfinished after a peer left (cleanly) before the peer counts
/// as lost. Everything the peer sent had reached timely when it left, so a call that could
/// still finish does so within a few steps; this only waits out slow scheduling.
pub const GONE_GRACE: Duration = Duration::from_secs(2);
/// How often the worker looks again while a peer has left and a call is unfinished.
const GONE_POLL: Duration = Duration::from_millis(10);

/// One `map` call, as sent to the worker thread.
pub(crate) struct Call {
    pub(crate) number: u64,
    /// The leader's encoded items (empty elsewhere).
    pub(crate) items: Vec<WireItem>,
    pub(crate) job: Job,
}

/// A call whose dataflow is installed and not yet finished.
struct Pending {
    number: u64,
    dataflow: usize,
    results: Rc<RefCell<Vec<WireResult>>>,
}

/// The worker thread's body: builds the allocator, serves calls until the command
/// channel closes (or the cluster breaks), and reports a panic of timely's (or ours) in
/// the watch instead of letting it escape.
pub(crate) fn serve(
    builder: TcpBuilder,
    calls: Receiver<Call>,
    watch: Arc<Watch>,
    pool: Arc<ThreadPool>,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let allocator = Allocator::Tcp(builder.build());
        let config = WorkerConfig::default().idle_spin(Duration::ZERO);
        let mut worker = Worker::new(config, allocator, Some(Instant::now()));
        serve_calls(&mut worker, &calls, &watch, &pool);
    }));
    if let Err(payload) = outcome {
        let message = panic_message(&*payload);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        watch.update(|state| state.engine_failed = Some(message));
    }
}

fn serve_calls(worker: &mut Worker, calls: &Receiver<Call>, watch: &Watch, pool: &Arc<ThreadPool>) {
    let leader = worker.index() == 0;
    let mut pending: Vec<Pending> = Vec::new();
    let mut open = true;
    let mut unfinished_since_gone: Option<Instant> = None;
    loop {
        while open {
            match calls.try_recv() {
                Ok(call) => pending.push(install(worker, call, pool)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }

        let (broken, stopping, first_gone) = {
            let state = watch.lock();
            (state.lost.is_some(), state.stopping, state.first_gone)
        };
        if broken || stopping {
            // No call can finish any more: drop their dataflows and leave, so that this
            // process's network threads say goodbye to the survivors.
            for call in pending.drain(..) {
                worker.drop_dataflow(call.dataflow);
            }
            return;
        }
        if !open && pending.is_empty() {
            return;
        }

        let poll = (first_gone.is_some() && !pending.is_empty()).then_some(GONE_POLL);
        worker.step_or_park(poll);

        let installed = worker.installed_dataflows();
        pending.retain(|call| {
            if installed.contains(&call.dataflow) {
                return true;
            }
            let results = std::mem::take(&mut *call.results.borrow_mut());
            let reply = leader.then_some(results);
            watch.update(|state| state.replies.insert(call.number, reply));
            false
        });

        match (first_gone, pending.is_empty()) {
            (Some(peer), false) => {
                let since = *unfinished_since_gone.get_or_insert_with(Instant::now);
                if since.elapsed() >= GONE_GRACE {
                    watch.lose(peer);
                }
            }
            _ => unfinished_since_gone = None,
        }
    }
}

/// Builds the dataflow of one call, feeds the leader's items into it and closes its input.
fn install(worker: &mut Worker, call: Call, pool: &Arc<ThreadPool>) -> Pending {
    let processes = worker.peers() as u64;
    let dataflow = worker.next_dataflow_index();
    let results: Rc<RefCell<Vec<WireResult>>> = Rc::default();
    let collected = Rc::clone(&results);
    let pool = Arc::clone(pool);
    let job = call.job;

    let mut input: InputHandle<u64, CapacityContainerBuilder<Vec<WireItem>>> = InputHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        scope
            .input_from(&mut input)
            .exchange(move |(index, _): &WireItem| index % processes)
            .unary_frontier::<CapacityContainerBuilder<Vec<WireResult>>, _, _, _>(
                Pipeline,
                "weft-run",
                move |capability, _info| {
                    let mut capability = Some(capability);
                    let mut share: Vec<WireItem> = Vec::new();
                    move |(input, frontier), output| {
                        input.for_each(|_time, data| share.append(data));
                        if frontier.is_empty()
                            && let Some(capability) = capability.take()
                        {
                            let items = std::mem::take(&mut share);
                            let outcomes = pool.map(items, |(index, bytes)| (index, job(&bytes.0)));
                            output
                                .session(&capability)
                                .give_iterator(outcomes.into_iter());
                        }
                    }
                },
            )
            .sink(
                ExchangeCore::<CapacityContainerBuilder<Vec<WireResult>>, _>::new(
                    |_: &WireResult| 0,
                ),
                "weft-collect",
                move |(input, _frontier)| {
                    input.for_each(|_time, data| collected.borrow_mut().append(data));
                },
            );
    });
    for item in call.items {
        input.send(item);
    }
    drop(input);
    Pending {
        number: call.number,
        dataflow,
        results,
    }
}
