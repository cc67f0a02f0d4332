//! [`ThreadPool::map`](crate::ThreadPool::map): apply a function to every item on the pool's
//! worker threads, in order.
//!
//! Every worker pulls chunks of items from the shared iterator (under a lock, a chunk at a
//! time) and writes each result straight into its place in the output vector. When the
//! iterator's size is known exactly, the output is allocated once and chunks never straddle
//! its end; items beyond a size hint that lied go to side buffers appended in order.

use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::Mutex;

use crate::engine::registry::Registry;
use crate::job::Panic;
use crate::sync::{AtomicBool, Ordering};

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
    let iter = items.into_iter();
    let (lower, upper) = iter.size_hint();
    let capacity = if upper == Some(lower) { lower } else { 0 };
    let threads = registry.num_threads();
    let chunk = if upper == Some(lower) {
        (lower / (threads * CHUNKS_PER_THREAD)).clamp(1, MAX_CHUNK)
    } else {
        UNKNOWN_SIZE_CHUNK
    };
    let state = MapState::new(iter, capacity, chunk, &func);
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
    /// Ranges of the output written completely (needed to drop them after a panic).
    written: Vec<(usize, usize)>,
}

/// The output buffer: `capacity` slots written in place by the workers.
struct Output<T> {
    ptr: *mut T,
    capacity: usize,
}

// SAFETY: workers write disjoint ranges of the buffer (each chunk's range is handed out once
// under the source lock) and the results are `Send`.
unsafe impl<T: Send> Sync for Output<T> {}

struct MapState<'f, Iter: Iterator, T, F> {
    source: Mutex<Source<Iter>>,
    output: Output<T>,
    overflow: Mutex<Vec<(usize, Vec<T>)>>,
    panic: Mutex<Option<Panic>>,
    stop: AtomicBool,
    chunk: usize,
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

impl<'f, Iter, I, T, F> MapState<'f, Iter, T, F>
where
    Iter: Iterator<Item = I> + Send,
    I: Send,
    T: Send,
    F: Fn(I) -> T + Sync,
{
    fn new(iter: Iter, capacity: usize, chunk: usize, func: &'f F) -> Self {
        let mut buffer = ManuallyDrop::new(Vec::<T>::with_capacity(capacity));
        MapState {
            source: Mutex::new(Source {
                iter,
                next_index: 0,
                exhausted: false,
                written: Vec::new(),
            }),
            output: Output {
                ptr: buffer.as_mut_ptr(),
                capacity: buffer.capacity(),
            },
            overflow: Mutex::new(Vec::new()),
            panic: Mutex::new(None),
            stop: AtomicBool::new(false),
            chunk,
            func,
        }
    }

    fn record_panic(&self, payload: Panic) {
        // ORDERING: Relaxed: a hint for the other workers to stop early; the panic itself is
        // handed over under the mutex.
        self.stop.store(true, Ordering::Relaxed);
        let mut first = self.panic.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(payload);
        }
    }

    /// One worker's share: pull chunks until the items run out (or someone panicked).
    fn work(&self) {
        let mut items: Vec<I> = Vec::with_capacity(self.chunk);
        let mut finished: Option<(usize, usize)> = None;
        loop {
            let start = {
                let mut source = self.source.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(range) = finished.take() {
                    source.written.push(range);
                }
                // ORDERING: Relaxed: see `record_panic`.
                if source.exhausted || self.stop.load(Ordering::Relaxed) {
                    return;
                }
                let start = source.next_index;
                let limit = if start < self.output.capacity {
                    self.chunk.min(self.output.capacity - start)
                } else {
                    self.chunk
                };
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
                start
            };
            if items.is_empty() {
                continue;
            }
            let len = items.len();
            if start + len <= self.output.capacity {
                // SAFETY: `start + len <= capacity`: inside the buffer.
                let base = unsafe { self.output.ptr.add(start) };
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    // The guard lives inside the closure so its count stays in a register
                    // (the loop vectorises); it drops the chunk's results if `func` panics.
                    let mut partial = PartialChunk { base, written: 0 };
                    for item in items.drain(..) {
                        let value = (self.func)(item);
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
                        items.clear();
                        self.record_panic(payload);
                    }
                }
            } else {
                let mut values = Vec::with_capacity(len);
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    values.extend(items.drain(..).map(self.func));
                }));
                match result {
                    Ok(()) => self
                        .overflow
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((start, values)),
                    Err(payload) => {
                        items.clear();
                        drop(values);
                        self.record_panic(payload);
                    }
                }
            }
        }
    }

    /// Assembles the output, or cleans up and re-raises the first panic.
    fn finish(self) -> Vec<T> {
        let source = self.source.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut overflow = self
            .overflow
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        let panic = self.panic.into_inner().unwrap_or_else(|p| p.into_inner());
        let Output { ptr, capacity } = self.output;
        if let Some(payload) = panic {
            for (start, len) in source.written {
                // SAFETY: each recorded range was written completely by one chunk and is
                // dropped once here.
                unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(ptr.add(start), len)) };
            }
            // SAFETY: the buffer came from `Vec::with_capacity(capacity)`; its live elements
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
