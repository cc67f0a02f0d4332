//! Every name of weft's public contract (the names and shapes users program against;
//! changing one is a breaking change), reached through the facade with the shape it
//! promises. A compile-time check first; the test bodies exercise what needs a value.

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use weft::channel::{
    OneshotReceiver, OneshotSender, Port, RecvError, RecvTimeoutError, SendError, TryRecvError,
};
use weft::shared::{
    BigInt64View, BigUint64View, Float32View, Float64View, Int8View, Int16View, Int32View,
    SharedBuffer, Uint8View, Uint16View, Uint32View, ViewError, WaitResult,
};
use weft::{
    AffinityError, BuildError, JobError, JobHandle, PoolStats, Scope, ScopedJobHandle, SpawnError,
    ThreadPool, ThreadPoolBuilder, WorkerContext, WorkerHandle,
};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_error<T: std::error::Error>() {}
fn assert_future<F: Future<Output = O>, O>() {}
fn assert_clone_debug_serde<
    T: Clone + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
>() {
}

#[test]
fn pool_names_have_their_shapes() {
    let _: fn(usize) -> Result<ThreadPool, BuildError> = ThreadPool::new;
    let _: fn() -> ThreadPoolBuilder = ThreadPool::builder;
    let _: ThreadPoolBuilder = ThreadPoolBuilder::new();
    let _: ThreadPoolBuilder = ThreadPoolBuilder::default();
    let builder = ThreadPool::builder()
        .num_threads(2)
        .thread_name(|index| format!("contract-{index}"))
        .stack_size(2 << 20)
        .max_queued(1_000);
    let pool: ThreadPool = builder.build().unwrap();
    assert_eq!(pool.num_threads(), 2);

    let handle: JobHandle<u8> = pool.spawn(|| 1);
    let _: fn(&JobHandle<u8>) -> bool = JobHandle::cancel;
    let _: fn(&JobHandle<u8>) -> bool = JobHandle::is_finished;
    let outcome: Result<Result<u8, JobError>, JobHandle<u8>> =
        handle.join_timeout(Duration::from_secs(30));
    assert_eq!(outcome.ok().unwrap().unwrap(), 1);
    let tried: Result<JobHandle<u8>, SpawnError<_>> = pool.try_spawn(|| 2);
    assert_eq!(tried.ok().unwrap().join().unwrap(), 2);
    pool.execute(|| ());

    let mapped: Vec<u32> = pool.map(vec![1u32, 2], |x| x + 1);
    assert_eq!(mapped, [2, 3]);
    let scoped: u8 = pool.scope(|s: &Scope<'_, '_>| {
        let h: ScopedJobHandle<'_, u8> = s.spawn(|| 3);
        h.join().unwrap()
    });
    assert_eq!(scoped, 3);
    assert_eq!(pool.join(|| 1, || 2), (1, 2));
    assert_eq!(pool.install(|| 4), 4);
    assert_eq!(pool.broadcast(|index| index), vec![0, 1]);

    assert_eq!(weft::join(|| 1, || 2), (1, 2));
    let _: Option<usize> = weft::current_thread_index();
    assert!(weft::current_num_threads() >= 1);
    assert!(!weft::is_cancelled());

    let stats: PoolStats = pool.stats();
    let PoolStats {
        submitted,
        completed,
        panicked,
        cancelled,
        ..
    } = stats.clone();
    let _: [u64; 4] = [submitted, completed, panicked, cancelled];
    let json = serde_json::to_string(&stats).unwrap();
    let back: PoolStats = serde_json::from_str(&json).unwrap();
    assert_eq!(back, stats);

    let worker: WorkerHandle<u8, u8, u8> = pool.spawn_worker(|ctx: WorkerContext<u8, u8>| {
        let n = ctx.recv().unwrap();
        ctx.send(n + 1).unwrap();
        let _: Result<u8, TryRecvError> = ctx.try_recv();
        let _: Result<u8, RecvTimeoutError> = ctx.recv_timeout(Duration::ZERO);
        let _: bool = ctx.is_cancelled();
        n
    });
    let sent: Result<(), SendError<u8>> = worker.send(1);
    sent.unwrap();
    let received: Result<u8, RecvError> = worker.recv();
    assert_eq!(received, Ok(2));
    let _: Result<u8, TryRecvError> = worker.try_recv();
    let _: Result<u8, RecvTimeoutError> = worker.recv_timeout(Duration::ZERO);
    let _: bool = worker.is_finished();
    let _: bool = worker.cancel();
    let _: Result<u8, JobError> = worker.join();

    pool.shutdown();
    ThreadPool::new(1).unwrap().shutdown_now();

    assert_send::<JobHandle<String>>();
    assert_sync::<JobHandle<String>>();
    assert_unpin::<JobHandle<String>>();
    assert_future::<JobHandle<String>, Result<String, JobError>>();
    assert_send::<JobError>();
    assert_error::<JobError>();
    assert_error::<BuildError>();
    assert_error::<SpawnError<fn()>>();
    assert_clone_debug_serde::<PoolStats>();
}

#[test]
fn job_error_has_its_methods() {
    let panicked = JobError::Panicked(Box::new("boom"));
    assert!(panicked.is_panic() && !panicked.is_cancelled());
    assert_eq!(panicked.panic_message(), Some("boom"));
    let _: Box<dyn Any + Send> = panicked.into_panic();
    let cancelled = JobError::Cancelled;
    assert!(cancelled.is_cancelled());
    let refused: SpawnError<u8> = SpawnError::Full(7);
    assert_eq!(refused.into_inner(), 7);
}

#[test]
fn channel_names_have_their_shapes() {
    let (tx, rx): (OneshotSender<u8>, OneshotReceiver<u8>) = weft::channel::oneshot::<u8>();
    let sent: Result<(), SendError<u8>> = tx.send(1);
    sent.unwrap();
    let got: Result<u8, RecvError> = rx.recv();
    assert_eq!(got, Ok(1));
    let (tx, mut rx) = weft::channel::oneshot::<u8>();
    let _: Result<u8, TryRecvError> = rx.try_recv();
    let _: Result<u8, RecvTimeoutError> = rx.recv_timeout(Duration::ZERO);
    drop(tx);
    assert_future::<OneshotReceiver<u8>, Result<u8, RecvError>>();

    let (a, b): (Port<u8, &str>, Port<&str, u8>) = weft::channel::duplex::<u8, &str>();
    a.send(1).unwrap();
    assert_eq!(b.recv(), Ok(1));
    let _: Result<u8, TryRecvError> = b.try_recv();
    let _: Result<u8, RecvTimeoutError> = b.recv_timeout(Duration::ZERO);
    drop(a);
    assert_eq!(b.iter().count(), 0);
    let (_c, _d): (Port<u8, u8>, Port<u8, u8>) = weft::channel::duplex_bounded::<u8, u8>(4);

    let send_error = SendError(NotDebug);
    let _ = format!("{send_error:?}"); // Debug without T: Debug
    assert_eq!(TryRecvError::Empty, TryRecvError::Empty.clone());
    let copied: RecvTimeoutError = RecvTimeoutError::Timeout;
    let _again = copied; // Copy
    let _still = copied;
}

struct NotDebug;

#[test]
fn shared_memory_names_have_their_shapes() {
    let buffer = SharedBuffer::new(64);
    assert_eq!(buffer.byte_len(), 64);
    let shared = buffer.clone();
    assert_send::<SharedBuffer>();
    assert_sync::<SharedBuffer>();
    let i32s = Int32View::new(&buffer).unwrap();
    let range: Result<Int32View, ViewError> = Int32View::with_range(&shared, 4, 2);
    assert_eq!(range.unwrap().len(), 2);
    assert!(!i32s.is_empty());
    i32s.store(0, 5);
    assert_eq!(i32s.add(0, 1), 5);
    assert_eq!(i32s.sub(0, 1), 6);
    assert_eq!(i32s.and(0, 7), 5);
    assert_eq!(i32s.or(0, 8), 5);
    assert_eq!(i32s.xor(0, 1), 13);
    assert_eq!(i32s.exchange(0, 2), 12);
    assert_eq!(i32s.compare_exchange(0, 2, 3), 2);
    assert_eq!(i32s.load(0), 3);
    let waited: WaitResult = i32s.wait(0, 0, Some(Duration::ZERO));
    assert_eq!(waited, WaitResult::NotEqual);
    assert_eq!(i32s.notify(0, usize::MAX), 0);
    let i64s = BigInt64View::new(&buffer).unwrap();
    assert_eq!(i64s.wait(1, 1, Some(Duration::ZERO)), WaitResult::NotEqual);
    assert_eq!(i64s.notify(1, 1), 0);
    Int8View::new(&buffer).unwrap().store(63, -1);
    Uint8View::new(&buffer).unwrap().load(0);
    Int16View::new(&buffer).unwrap().load(0);
    Uint16View::new(&buffer).unwrap().load(0);
    Uint32View::new(&buffer).unwrap().load(0);
    BigUint64View::new(&buffer).unwrap().load(0);
    Float32View::new(&buffer).unwrap().store(0, 1.5);
    Float64View::new(&buffer).unwrap().load(1);
    assert!(weft::shared::is_lock_free(4));
    assert_send::<Float64View>();
    assert_sync::<Uint8View>();
}

#[test]
fn worker_state_batch_helpers_and_timing_names_have_their_shapes() {
    use weft::{Timing, WorkerLocal};

    let pool = ThreadPool::builder()
        .num_threads(2)
        .record_timing(true)
        .build()
        .unwrap();

    let local: WorkerLocal<Vec<u8>> = WorkerLocal::new(&pool, |index: usize| vec![index as u8]);
    let first: u8 = pool.install(|| local.with(|value: &mut Vec<u8>| value[0]));
    assert!(first < 2);
    let values: Vec<Option<Vec<u8>>> = local.into_inner();
    assert!(values.len() >= 2);
    assert_send::<WorkerLocal<String>>();
    assert_sync::<WorkerLocal<String>>();

    let mapped: Vec<u32> = pool.map_init(vec![1u32, 2], || 10u32, |ten: &mut u32, x| x + *ten);
    assert_eq!(mapped, [11, 12]);
    pool.for_each(0..4u8, |x| assert!(x < 4));
    let reduced: Option<String> = pool.map_reduce(0..3u8, |x| x.to_string(), |a, b| a + &b);
    assert_eq!(reduced.as_deref(), Some("012"));

    pool.spawn(|| ()).join().unwrap();
    let stats: PoolStats = pool.stats();
    let wait: Option<Timing> = stats.wait_time;
    let run: Option<Timing> = stats.run_time;
    let Timing {
        count,
        mean,
        p50,
        p90,
        p99,
        max,
    } = run.unwrap();
    let _: u64 = count;
    let _: [Duration; 5] = [mean, p50, p90, p99, max];
    assert_eq!(wait.unwrap().count, 1);
    assert_clone_debug_serde::<Timing>();
    let summary: String = stats.to_string();
    assert!(summary.contains("submitted"));
}

/// API.md, "Worker lifecycle and per-worker state": the start and stop hooks, pinning,
/// `shutdown_timeout`, and the build errors they bring.
#[test]
fn worker_lifecycle_names_have_their_shapes() {
    let builder: ThreadPoolBuilder = ThreadPool::builder()
        .num_threads(2)
        .on_thread_start(|index: usize| assert!(index < 2))
        .on_thread_stop(|index: usize| assert!(index < 2))
        .pin_threads(false);
    let pool = builder.build().unwrap();
    let cpu: Option<usize> = pool.stats().workers[0].cpu;
    assert_eq!(cpu, None);
    let _: fn(ThreadPool, Duration) -> Result<(), ThreadPool> = ThreadPool::shutdown_timeout;
    let given_back: Result<(), ThreadPool> = pool.shutdown_timeout(Duration::from_secs(30));
    assert!(given_back.is_ok());

    let error = BuildError::ThreadStart {
        index: 1,
        message: String::from("boom"),
    };
    assert!(matches!(error, BuildError::ThreadStart { index: 1, .. }));
    let refused: Result<ThreadPool, BuildError> = ThreadPool::builder()
        .num_threads(1)
        .on_thread_start(|_| panic!("start hook"))
        .build();
    assert!(matches!(
        refused,
        Err(BuildError::ThreadStart { index: 0, .. })
    ));
    if let Err(BuildError::Affinity(affinity)) = ThreadPool::builder().pin_threads(true).build() {
        let _: &AffinityError = &affinity;
        let _: (Option<usize>, Option<usize>, &std::io::Error) =
            (affinity.index, affinity.cpu, &affinity.source);
    }
    assert_error::<AffinityError>();

    let min: usize = weft::MIN_STACK_SIZE;
    let small = ThreadPool::builder().stack_size(min - 1).build();
    assert!(
        matches!(small, Err(BuildError::StackTooSmall { requested, min: m }) if requested == min - 1 && m == min)
    );
    let named = ThreadPool::builder()
        .num_threads(1)
        .thread_name(|_| String::from("nul\0"))
        .build();
    assert!(matches!(
        named,
        Err(BuildError::ThreadName { index: 0, .. })
    ));
}
