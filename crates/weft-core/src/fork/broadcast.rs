//! [`ThreadPool::broadcast`](crate::ThreadPool::broadcast): run a closure once on every
//! worker thread.

use crate::engine::registry::Registry;

/// `broadcast`: `func(index)` once on every worker `index`, results in worker order. Each
/// call is a stack job in that worker's inbox.
pub(crate) fn broadcast<F, R>(registry: &Registry, func: F) -> Vec<R>
where
    F: Fn(usize) -> R + Sync,
    R: Send,
{
    super::fan_out(registry, registry.num_threads(), &func, |index, job| {
        registry.push_to_worker(index, job);
    })
}
