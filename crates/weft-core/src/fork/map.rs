//! [`ThreadPool::map`](crate::ThreadPool::map) and its kin, `map_init`, `for_each` and
//! `map_reduce`: apply a function to every item on the pool's worker threads.
//!
//! All four share one engine, the [`Feed`]: every worker thread pulls chunks of items from
//! the shared iterator (under a lock, a chunk at a time, each chunk a run of consecutive
//! input positions) and then works on its chunk alone.
//!
//! - `map` and `map_init` ([`Collect`]) write each result straight into its place in the
//!   output vector. When the iterator's size is known exactly, the output is allocated once
//!   and chunks never straddle its end; items beyond a size hint that lied go to side
//!   buffers appended in order. `map_init`'s state is built lazily, once per thread and
//!   call: a thread that starts a second share of the same call while its first is waiting
//!   (helping inside a `join` of the mapped function) leaves the items to the first.
//! - `map_reduce` ([`Fold`]) folds each chunk, left to right, into one value kept with the
//!   chunk's first position; the caller combines those values in position order at the
//!   end, so `reduce(a, b)` always has `a` before `b` in the input.
//! - `for_each` calls its function on each item of the chunk and keeps nothing.
//!
//! A panic anywhere (the iterator, a user function, a `Drop`) stops the other threads from
//! taking new chunks; every item and result not consumed is dropped once, and the first
//! panic is re-raised on the caller once every thread stopped.

use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::engine::registry::Registry;
use crate::engine::worker::WorkerThread;
use crate::job::Panic;
use crate::sync::{AtomicBool, Backoff, Ordering};

/// Chunks per worker to aim for when the item count is known (load balance vs. locking).
const CHUNKS_PER_THREAD: usize = 8;
/// Largest chunk: keeps a worker's item buffer in cache.
const MAX_CHUNK: usize = 4096;
/// Chunk size when the item count is unknown.
const UNKNOWN_SIZE_CHUNK: usize = 64;

/// `map`: every worker thread pulls chunks of `items` and writes each result in its place.
pub(crate) fn map<It, I, T, F>(registry: &Registry, items: It, func: F) -> Vec<T>
where
    It: IntoIterator<Item = I>,
    It::IntoIter: Send,
    I: Send,
    T: Send,
    F: Fn(I) -> T + Sync,
{
    // No state to build: no need to keep a thread to one share.
    collect(
        registry,
        items,
        &|| (),
        &|_: &mut (), item| func(item),
        false,
    )
}

/// `map_init`: as `map`, with a state per thread built by `init` at most once per call.
pub(crate) fn map_init<It, I, S, T, Init, F>(
    registry: &Registry,
    items: It,
    init: Init,
    func: F,
) -> Vec<T>
where
    It: IntoIterator<Item = I>,
    It::IntoIter: Send,
    I: Send,
    T: Send,
    Init: Fn() -> S + Sync,
    F: Fn(&mut S, I) -> T + Sync,
{
    collect(registry, items, &init, &func, true)
}

/// `map_reduce`: every chunk folded into one value, the values combined in input order.
pub(crate) fn map_reduce<It, I, T, M, R>(
    registry: &Registry,
    items: It,
    map: M,
    reduce: R,
) -> Option<T>
where
    It: IntoIterator<Item = I>,
    It::IntoIter: Send,
    I: Send,
    T: Send,
    M: Fn(I) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    let iter = items.into_iter();
    let feed = Feed::new(iter, registry.num_threads());
    let fold = Fold {
        feed,
        partials: Mutex::new(Vec::new()),
        map: &map,
        reduce: &reduce,
    };
    run_on_workers(registry, registry.num_threads(), &|| fold.work());
    fold.finish()
}

/// `for_each`: `func` on every item; nothing is kept.
pub(crate) fn for_each<It, I, F>(registry: &Registry, items: It, func: F)
where
    It: IntoIterator<Item = I>,
    It::IntoIter: Send,
    I: Send,
    F: Fn(I) + Sync,
{
    let threads = registry.num_threads();
    let feed = Feed::new(items.into_iter(), threads);
    run_on_workers(registry, threads, &|| {
        let mut items: Vec<I> = Vec::with_capacity(feed.chunk);
        while feed.pull(&mut items, 0, &mut None).is_some() {
            let result = panic::catch_unwind(AssertUnwindSafe(|| items.drain(..).for_each(&func)));
            if let Err(payload) = result {
                feed.record_panic(payload);
                feed.discard(&mut items);
            }
        }
    });
    let (source, panic) = feed.finish();
    if let Some(payload) = panic {
        drop(source.iter);
        panic::resume_unwind(payload);
    }
}

fn collect<It, I, S, T, Init, F>(
    registry: &Registry,
    items: It,
    init: &Init,
    func: &F,
    once_per_thread: bool,
) -> Vec<T>
where
    It: IntoIterator<Item = I>,
    It::IntoIter: Send,
    I: Send,
    T: Send,
    Init: Fn() -> S + Sync,
    F: Fn(&mut S, I) -> T + Sync,
{
    let iter = items.into_iter();
    let (lower, upper) = iter.size_hint();
    let capacity = if upper == Some(lower) { lower } else { 0 };
    let threads = registry.num_threads();
    let feed = Feed::new(iter, threads);
    let inside = once_per_thread.then(|| Inside::new(registry.thread_slots()));
    let state = Collect::new(feed, capacity, inside, init, func);
    run_on_workers(registry, threads, &|| state.work());
    state.finish()
}

/// Runs `task` `n` times on the pool's worker threads and waits for all of them.
fn run_on_workers(registry: &Registry, n: usize, task: &(dyn Fn() + Sync)) {
    super::fan_out(registry, n, &|_| task(), |_, job| registry.push(job));
}

/// The iterator and where the next chunk starts.
struct Source<Iter> {
    iter: Iter,
    next_index: usize,
    exhausted: bool,
    /// Ranges of the output written completely (`Collect` needs them to drop them after a
    /// panic).
    written: Vec<(usize, usize)>,
}

/// What every form shares: the items, handed out a chunk at a time, and the first panic.
struct Feed<Iter> {
    source: Mutex<Source<Iter>>,
    panic: Mutex<Option<Panic>>,
    stop: AtomicBool,
    chunk: usize,
    /// The exact item count, when the iterator tells it, and the threads sharing the items:
    /// chunks shrink towards the end (guided self-scheduling), so that no thread is left
    /// with a long last chunk while the others idle.
    len: Option<usize>,
    threads: usize,
}

impl<Iter: Iterator> Feed<Iter> {
    fn new(iter: Iter, threads: usize) -> Self {
        let (lower, upper) = iter.size_hint();
        let chunk = if upper == Some(lower) {
            (lower / (threads * CHUNKS_PER_THREAD)).clamp(1, MAX_CHUNK)
        } else {
            UNKNOWN_SIZE_CHUNK
        };
        Feed {
            source: Mutex::new(Source {
                iter,
                next_index: 0,
                exhausted: false,
                written: Vec::new(),
            }),
            panic: Mutex::new(None),
            stop: AtomicBool::new(false),
            chunk,
            len: (upper == Some(lower)).then_some(lower),
            threads,
        }
    }

    fn record_panic(&self, payload: Panic) {
        // ORDERING: Relaxed: a hint for the other workers to stop early; the panic itself is
        // handed over under the mutex.
        self.stop.store(true, Ordering::Relaxed);
        let mut first = self.panic.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(payload);
        } else {
            drop(first);
            // A second panic's payload is dropped here; its `Drop` is user code too.
            if panic::catch_unwind(AssertUnwindSafe(move || drop(payload))).is_err() {
                tracing::error!("dropping a panic payload in map panicked");
            }
        }
    }

    /// Drops values whose work was cut short by a panic, recording a panic of their `Drop`.
    fn discard<V>(&self, values: &mut Vec<V>) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| values.clear())) {
            self.record_panic(payload);
        }
    }

    /// Takes the source lock. It is held only while a chunk is pulled (a few microseconds at
    /// most for cheap iterators), so a thread that finds it taken spins and yields for a
    /// while before it blocks: a blocked thread costs a futex wait and wake, tens of
    /// microseconds here, more than the wait itself.
    fn lock_source(&self) -> MutexGuard<'_, Source<Iter>> {
        let backoff = Backoff::new();
        loop {
            match self.source.try_lock() {
                Ok(source) => return source,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) if backoff.is_completed() => {
                    return self.source.lock().unwrap_or_else(|p| p.into_inner());
                }
                Err(TryLockError::WouldBlock) => backoff.snooze(),
            }
        }
    }

    /// The next chunk: fills `items` (empty on entry) and returns the position of its first
    /// item, or `None` once the items ran out or someone panicked. Chunks never straddle
    /// position `boundary`. `finished` is a range the caller completed since its last call,
    /// recorded under the same lock.
    fn pull(
        &self,
        items: &mut Vec<Iter::Item>,
        boundary: usize,
        finished: &mut Option<(usize, usize)>,
    ) -> Option<usize> {
        let mut source = self.lock_source();
        if let Some(range) = finished.take() {
            source.written.push(range);
        }
        // ORDERING: Relaxed: see `record_panic`.
        if source.exhausted || self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let start = source.next_index;
        let mut limit = self.chunk;
        if let Some(len) = self.len
            && start < len
        {
            // A share of what is left for each thread's next two pulls, at least one item
            // (past `len` the size hint lied: whole chunks again, not one item per lock).
            limit = limit.min(((len - start) / (2 * self.threads)).max(1));
        }
        if start < boundary {
            limit = limit.min(boundary - start);
        }
        let source = &mut *source;
        let pulled = panic::catch_unwind(AssertUnwindSafe(|| {
            items.extend(source.iter.by_ref().take(limit));
        }));
        if items.len() < limit {
            source.exhausted = true;
        }
        if let Err(payload) = pulled {
            source.exhausted = true;
            self.record_panic(payload);
        }
        source.next_index += items.len();
        Some(start)
    }

    /// The iterator and the written ranges, or the first panic.
    fn finish(self) -> (Source<Iter>, Option<Panic>) {
        let source = self.source.into_inner().unwrap_or_else(|p| p.into_inner());
        let panic = self.panic.into_inner().unwrap_or_else(|p| p.into_inner());
        (source, panic)
    }
}

/// For `map_init`: which pool threads are inside a share of this call now, by thread slot.
struct Inside(Box<[AtomicBool]>);

/// A share of the call running on one thread; leaves when dropped.
struct Entered<'a>(&'a AtomicBool);

impl Inside {
    fn new(slots: usize) -> Self {
        Inside((0..slots).map(|_| AtomicBool::new(false)).collect())
    }

    /// Enters the calling pool thread; `None` if a share of this call already runs on it
    /// (further down its stack).
    fn enter(&self) -> Option<Entered<'_>> {
        let index = WorkerThread::current()
            .expect("map's shares run on the pool's threads")
            .index();
        let flag = &self.0[index];
        // ORDERING: Relaxed: only the thread of slot `index` touches its flag.
        if flag.swap(true, Ordering::Relaxed) {
            return None;
        }
        Some(Entered(flag))
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        // ORDERING: Relaxed: only this thread touches its flag (see `Inside::enter`).
        self.0.store(false, Ordering::Relaxed);
    }
}

/// The output buffer: `capacity` slots written in place by the workers.
struct Output<T> {
    ptr: *mut T,
    capacity: usize,
}

// SAFETY: workers write disjoint ranges of the buffer (each chunk's range is handed out once
// under the source lock) and the results are `Send`.
unsafe impl<T: Send> Sync for Output<T> {}

/// `map` and `map_init`: results in place.
struct Collect<'f, Iter: Iterator, T, Init, F> {
    feed: Feed<Iter>,
    output: Output<T>,
    overflow: Mutex<Vec<(usize, Vec<T>)>>,
    /// `map_init`: keeps each thread to one share of the call (so one state).
    inside: Option<Inside>,
    init: &'f Init,
    func: &'f F,
}

/// Drops the results a chunk wrote so far if its function panics.
struct PartialChunk<T> {
    base: *mut T,
    written: usize,
}

impl<T> Drop for PartialChunk<T> {
    fn drop(&mut self) {
        // SAFETY: the first `written` slots from `base` were written by this chunk and not
        // handed out to anyone else.
        unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.base, self.written)) }
    }
}

impl<'f, Iter, I, S, T, Init, F> Collect<'f, Iter, T, Init, F>
where
    Iter: Iterator<Item = I> + Send,
    I: Send,
    T: Send,
    Init: Fn() -> S + Sync,
    F: Fn(&mut S, I) -> T + Sync,
{
    fn new(
        feed: Feed<Iter>,
        capacity: usize,
        inside: Option<Inside>,
        init: &'f Init,
        func: &'f F,
    ) -> Self {
        let mut buffer = Vec::<T>::new();
        // A size hint beyond what can be allocated (it lied: no machine holds that many
        // items) must not abort the process: a failed reservation leaves the buffer empty,
        // and every result takes the overflow path.
        let _ = buffer.try_reserve_exact(capacity);
        let mut buffer = ManuallyDrop::new(buffer);
        Collect {
            feed,
            output: Output {
                ptr: buffer.as_mut_ptr(),
                capacity: buffer.capacity(),
            },
            overflow: Mutex::new(Vec::new()),
            inside,
            init,
            func,
        }
    }

    /// One worker's share: pull chunks until the items run out (or someone panicked).
    fn work(&self) {
        let _entered = match &self.inside {
            Some(inside) => match inside.enter() {
                Some(entered) => Some(entered),
                // This thread's first share is waiting further down the stack: it takes
                // the items, with its state, once it resumes.
                None => return,
            },
            None => None,
        };
        let mut state: Option<S> = None;
        self.work_with(&mut state);
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(state))) {
            self.feed.record_panic(payload);
        }
    }

    fn work_with(&self, state: &mut Option<S>) {
        let feed = &self.feed;
        let mut items: Vec<I> = Vec::with_capacity(feed.chunk);
        let mut finished: Option<(usize, usize)> = None;
        while let Some(start) = feed.pull(&mut items, self.output.capacity, &mut finished) {
            if items.is_empty() {
                continue;
            }
            if state.is_none() {
                // Built lazily: a share that finds no items builds nothing.
                match panic::catch_unwind(AssertUnwindSafe(self.init)) {
                    Ok(built) => *state = Some(built),
                    Err(payload) => {
                        feed.record_panic(payload);
                        feed.discard(&mut items);
                        continue;
                    }
                }
            }
            let Some(state) = state.as_mut() else {
                unreachable!("built above")
            };
            let len = items.len();
            if start + len <= self.output.capacity {
                // SAFETY: `start + len <= capacity`: inside the buffer.
                let base = unsafe { self.output.ptr.add(start) };
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    // The guard lives inside the closure so its count stays in a register
                    // (the loop vectorises); it drops the chunk's results if `func` panics.
                    let mut partial = PartialChunk { base, written: 0 };
                    for item in items.drain(..) {
                        let value = (self.func)(state, item);
                        // SAFETY: slot `start + written` belongs to this chunk alone and is
                        // still uninitialised.
                        unsafe { partial.base.add(partial.written).write(value) };
                        partial.written += 1;
                    }
                    std::mem::forget(partial);
                }));
                match result {
                    Ok(()) => finished = Some((start, len)),
                    Err(payload) => {
                        feed.record_panic(payload);
                        feed.discard(&mut items);
                    }
                }
            } else {
                let mut values = Vec::with_capacity(len);
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    values.extend(items.drain(..).map(|item| (self.func)(state, item)));
                }));
                match result {
                    Ok(()) => self
                        .overflow
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((start, values)),
                    Err(payload) => {
                        feed.record_panic(payload);
                        feed.discard(&mut items);
                        feed.discard(&mut values);
                    }
                }
            }
        }
    }

    /// Assembles the output, or cleans up and re-raises the first panic.
    fn finish(self) -> Vec<T> {
        let mut overflow = self
            .overflow
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        let (source, panic) = self.feed.finish();
        let Output { ptr, capacity } = self.output;
        if let Some(payload) = panic {
            for (start, len) in source.written {
                // SAFETY: each recorded range was written completely by one chunk and is
                // dropped once here.
                unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(ptr.add(start), len)) };
            }
            // SAFETY: the buffer is a `Vec` of exactly `capacity` (its own); its live elements
            // were dropped above, so it is freed as an empty vector.
            drop(unsafe { Vec::from_raw_parts(ptr, 0, capacity) });
            drop(overflow);
            drop(source.iter);
            panic::resume_unwind(payload);
        }
        let direct = source.next_index.min(capacity);
        debug_assert_eq!(
            source.written.iter().map(|&(_, len)| len).sum::<usize>(),
            direct
        );
        // SAFETY: without a panic every chunk inside the buffer completed, and chunks cover
        // `0..direct` without gaps (handed out consecutively under the lock).
        let mut results = unsafe { Vec::from_raw_parts(ptr, direct, capacity) };
        overflow.sort_unstable_by_key(|&(start, _)| start);
        for (_, values) in overflow {
            results.extend(values);
        }
        results
    }
}

/// `map_reduce`: one value per chunk, with the chunk's first position.
struct Fold<'f, Iter, T, M, R> {
    feed: Feed<Iter>,
    partials: Mutex<Vec<(usize, T)>>,
    map: &'f M,
    reduce: &'f R,
}

impl<Iter, I, T, M, R> Fold<'_, Iter, T, M, R>
where
    Iter: Iterator<Item = I> + Send,
    I: Send,
    T: Send,
    M: Fn(I) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    /// One worker's share: fold chunks until the items run out (or someone panicked).
    fn work(&self) {
        let feed = &self.feed;
        let mut items: Vec<I> = Vec::with_capacity(feed.chunk);
        let mut mine: Vec<(usize, T)> = Vec::new();
        while let Some(start) = feed.pull(&mut items, 0, &mut None) {
            if items.is_empty() {
                continue;
            }
            let folded = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut chunk = items.drain(..);
                let first = (self.map)(chunk.next().expect("a chunk is not empty"));
                chunk.fold(first, |acc, item| (self.reduce)(acc, (self.map)(item)))
            }));
            match folded {
                Ok(value) => mine.push((start, value)),
                Err(payload) => {
                    feed.record_panic(payload);
                    feed.discard(&mut items);
                }
            }
        }
        if !mine.is_empty() {
            self.partials
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .append(&mut mine);
        }
    }

    /// Combines the chunks' values in input order, or cleans up and re-raises the first
    /// panic.
    fn finish(self) -> Option<T> {
        let mut partials = self
            .partials
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        let (source, panic) = self.feed.finish();
        if let Some(payload) = panic {
            drop(partials);
            drop(source.iter);
            panic::resume_unwind(payload);
        }
        drop(source);
        partials.sort_unstable_by_key(|&(start, _)| start);
        let mut values = partials.into_iter().map(|(_, value)| value);
        let first = values.next()?;
        Some(values.fold(first, self.reduce))
    }
}
