//! Job blocks, recycled per thread: a steady stream of spawns allocates almost nothing.
//!
//! A heap job's block comes from a size class (64 to 1024 bytes). Each thread keeps, per
//! class, a bounded list of free blocks and a slab it is carving: a slab is one allocation
//! of [`SLAB_BLOCKS`] blocks behind a small header. Allocating pops the free list, or carves
//! the next block of the slab, or takes a new slab (one `malloc` per 15 to 255 blocks, by
//! class, unless an empty slab is kept). Freeing pushes the block on the freeing thread's
//! list (whichever thread lets go of a job last), or, when that list is full, gives the
//! block back to its slab.
//!
//! Every block of a slab is in exactly one state: in use, on some thread's free list, not
//! carved yet, or given back. The slab counts the blocks given back (an atomic: any thread
//! may give one back) and is retired by whoever gives back its last one: kept, empty, on a
//! process-wide list for the next slab any thread needs, or freed once [`SPARE_SLABS`] are
//! kept. A thread that ends gives back its free lists and the rest of its slabs. So memory
//! is bounded by the blocks in use plus [`CACHE_BLOCKS`] per class per thread, the slabs
//! they sit in, and at most [`SPARE_SLABS`] empty slabs (64 MiB) kept after a burst.
//!
//! A block is freed only by the job's last holder (see `heap.rs`), so nothing can reach a
//! block when it is put on a free list, let alone when it is reused.
//!
//! Blocks larger than the largest class, or aligned to more than 64 bytes, come from the
//! global allocator as they are.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;

use crate::sync::{AtomicUsize, Ordering};

/// The block sizes of the classes.
const CLASS_SIZES: [usize; 5] = [64, 128, 256, 512, 1024];

/// Bytes in one slab (and its alignment): a block finds its slab by masking its address.
const SLAB_BYTES: usize = 16 * 1024;

/// Blocks in one slab of each class: as many as fit after the header.
const SLAB_BLOCKS: [usize; CLASS_SIZES.len()] = {
    let mut blocks = [0; CLASS_SIZES.len()];
    let mut class = 0;
    while class < CLASS_SIZES.len() {
        blocks[class] = (SLAB_BYTES - HEADER_BYTES) / CLASS_SIZES[class];
        class += 1;
    }
    blocks
};

/// Empty slabs kept for reuse, process-wide and for every class (all slabs have one size):
/// a slab whose last block came back goes here rather than back to the allocator, which
/// would trim and re-grow its heap and fault the pages in again on every burst of jobs.
/// glibc gives a pool's worker thread an arena of its own and trims it at once, so with 1024
/// spares per class a fresh pool whose worker spawned 1M jobs (held by their handles) took
/// 15,000-20,000 page faults and 96 ns a spawn+join; with these, 0-4,000 faults and 49 ns.
/// Past this many (64 MiB, about a million 64-byte blocks) a slab is freed.
const SPARE_SLABS: usize = 4096;

/// Free blocks a thread keeps per class.
pub(crate) const CACHE_BLOCKS: usize = 256;

/// The most alignment a class block has (slabs are aligned to their own size, a power of
/// two, and blocks sit at multiples of their size, at least 64 bytes, after a 64-byte
/// header).
const BLOCK_ALIGN: usize = 64;

/// Bytes before the first block of a slab.
const HEADER_BYTES: usize = 64;

/// The size class for a block of `layout`, if it has one.
#[inline]
pub(crate) fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > BLOCK_ALIGN {
        return None;
    }
    CLASS_SIZES.iter().position(|&size| layout.size() <= size)
}

/// How every slab is laid out.
#[inline]
fn slab_layout() -> Layout {
    Layout::from_size_align(SLAB_BYTES, SLAB_BYTES).expect("a small power of two")
}

/// The start of a slab.
#[repr(C, align(64))]
struct SlabHeader {
    /// Blocks given back (see the module docs); the one who gives back the last frees it.
    given_back: AtomicUsize,
    class: usize,
}

const _: () = assert!(std::mem::size_of::<SlabHeader>() <= HEADER_BYTES);

/// The slab that `block` belongs to.
#[inline]
fn slab_of(block: NonNull<u8>) -> NonNull<SlabHeader> {
    let mask = SLAB_BYTES - 1;
    // Strict provenance: the slab header is in the same allocation as the block.
    let slab = block.as_ptr().map_addr(|addr| addr & !mask);
    // SAFETY: the slab starts at a non-null address (its own allocation).
    unsafe { NonNull::new_unchecked(slab) }.cast()
}

/// Gives `count` blocks of `slab` back; frees the slab when that was the last of them.
///
/// # Safety
///
/// The caller owns `count` blocks of the slab (in use by nobody, on no free list, or never
/// carved) and touches none of them afterwards.
unsafe fn give_back(slab: NonNull<SlabHeader>, count: usize) {
    // SAFETY: the slab lives until all of its blocks are given back, and the caller still
    // owns `count` of them.
    let header = unsafe { slab.as_ref() };
    let class = header.class;
    // ORDERING: AcqRel: Release so everything done with these blocks happens-before the
    // free; Acquire so that, if we free, everything done with the others does too.
    let before = header.given_back.fetch_add(count, Ordering::AcqRel);
    if before + count == SLAB_BLOCKS[class] {
        retire_slab(slab);
    }
}

/// Process-wide empty slabs, of any class, for reuse (see [`SPARE_SLABS`]).
static SPARES: std::sync::Mutex<Vec<SlabPtr>> = std::sync::Mutex::new(Vec::new());

/// An empty slab in [`SPARES`].
struct SlabPtr(NonNull<SlabHeader>);

// SAFETY: an empty slab is plain memory that nobody uses; whoever takes it from the list
// owns it.
unsafe impl Send for SlabPtr {}

/// Every block of `slab` is back: keep the slab for reuse, or free it.
fn retire_slab(slab: NonNull<SlabHeader>) {
    let mut spares = SPARES.lock().unwrap_or_else(|p| p.into_inner());
    if spares.len() < SPARE_SLABS {
        spares.push(SlabPtr(slab));
        return;
    }
    drop(spares);
    // SAFETY: every block is given back: nobody uses the slab any more; it was allocated
    // with this layout in `new_slab`.
    unsafe { alloc::dealloc(slab.as_ptr().cast(), slab_layout()) };
}

/// A slab of `class` to carve: a kept empty one, or a new one (`None` if the allocator
/// refused).
fn new_slab(class: usize) -> Option<NonNull<SlabHeader>> {
    let kept = SPARES.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let slab = match kept {
        Some(SlabPtr(slab)) => slab,
        // SAFETY: the layout has a non-zero size.
        None => NonNull::new(unsafe { alloc::alloc(slab_layout()) })?.cast::<SlabHeader>(),
    };
    // SAFETY: freshly allocated, aligned for the header, and large enough.
    unsafe {
        slab.write(SlabHeader {
            given_back: AtomicUsize::new(0),
            class,
        });
    }
    Some(slab)
}

/// The `index`th block of `slab`.
fn block_of(slab: NonNull<SlabHeader>, class: usize, index: usize) -> NonNull<u8> {
    debug_assert!(index < SLAB_BLOCKS[class]);
    // SAFETY: inside the slab's allocation (HEADER_BYTES + index * size < its size).
    unsafe {
        slab.cast::<u8>()
            .add(HEADER_BYTES + index * CLASS_SIZES[class])
    }
}

/// One class's share of a thread's cache.
struct ClassCache {
    free: Vec<NonNull<u8>>,
    /// The slab being carved and the index of its next block.
    carving: Option<(NonNull<SlabHeader>, usize)>,
}

impl ClassCache {
    const fn new() -> Self {
        ClassCache {
            free: Vec::new(),
            carving: None,
        }
    }
}

/// A thread's free blocks and slabs, one per class.
struct ThreadCache {
    classes: [ClassCache; CLASS_SIZES.len()],
}

impl Drop for ThreadCache {
    /// The thread ends: every block it keeps goes back to its slab.
    fn drop(&mut self) {
        for (class, cache) in self.classes.iter_mut().enumerate() {
            for block in cache.free.drain(..) {
                // SAFETY: a block on our free list is ours alone.
                unsafe { give_back(slab_of(block), 1) };
            }
            if let Some((slab, next)) = cache.carving.take() {
                // SAFETY: the blocks not carved yet are ours alone.
                unsafe { give_back(slab, SLAB_BLOCKS[class] - next) };
            }
        }
    }
}

std::thread_local! {
    static CACHE: RefCell<ThreadCache> = const {
        RefCell::new(ThreadCache {
            classes: [
                ClassCache::new(),
                ClassCache::new(),
                ClassCache::new(),
                ClassCache::new(),
                ClassCache::new(),
            ],
        })
    };
}

/// A block for `layout`: recycled when it has a class (and recycling is on), else from the
/// global allocator.
///
/// # Panics
///
/// Aborts through [`alloc::handle_alloc_error`] if memory is exhausted, like `Box::new`.
#[inline]
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    if crate::sync::RECYCLE_JOB_BLOCKS
        && let Some(class) = class_of(layout)
    {
        let block = CACHE
            .try_with(|cache| take_block(&mut cache.borrow_mut().classes[class], class))
            .ok()
            .flatten();
        if let Some(block) = block {
            return block;
        }
    }
    if layout.size() == 0 {
        return NonNull::dangling();
    }
    // SAFETY: the size is not zero.
    NonNull::new(unsafe { alloc::alloc(layout) })
        .unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// A block of `class` from `cache`: its free list, its slab, or a new slab.
fn take_block(cache: &mut ClassCache, class: usize) -> Option<NonNull<u8>> {
    if let Some(block) = cache.free.pop() {
        return Some(block);
    }
    let (slab, next) = match cache.carving {
        Some(carving) => carving,
        None => (new_slab(class)?, 0),
    };
    let block = block_of(slab, class, next);
    cache.carving = (next + 1 < SLAB_BLOCKS[class]).then_some((slab, next + 1));
    Some(block)
}

/// Lets go of a block made by [`allocate`] with the same `layout`.
///
/// # Safety
///
/// `block` came from `allocate(layout)`, nothing reaches it any more, and it is freed once.
#[inline]
pub(crate) unsafe fn deallocate(block: NonNull<u8>, layout: Layout) {
    if crate::sync::RECYCLE_JOB_BLOCKS
        && let Some(class) = class_of(layout)
    {
        let kept = CACHE
            .try_with(|cache| {
                let free = &mut cache.borrow_mut().classes[class].free;
                if free.len() < CACHE_BLOCKS {
                    if free.capacity() == 0 {
                        free.reserve_exact(CACHE_BLOCKS);
                    }
                    free.push(block);
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: the block is ours (the caller's contract), given back once.
            unsafe { give_back(slab_of(block), 1) };
        }
        return;
    }
    if layout.size() != 0 {
        // SAFETY: `block` came from `alloc::alloc(layout)` in `allocate`.
        unsafe { alloc::dealloc(block.as_ptr(), layout) };
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_small_blocks_and_leave_big_or_overaligned_ones_out() {
        assert_eq!(class_of(Layout::from_size_align(1, 1).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(64, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(65, 8).unwrap()), Some(1));
        assert_eq!(
            class_of(Layout::from_size_align(1024, 64).unwrap()),
            Some(4)
        );
        assert_eq!(class_of(Layout::from_size_align(1025, 8).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(64, 128).unwrap()), None);
    }

    #[test]
    fn a_freed_block_is_reused_by_the_same_thread() {
        let layout = Layout::from_size_align(100, 8).unwrap();
        let first = allocate(layout);
        // SAFETY: just allocated, freed once.
        unsafe { deallocate(first, layout) };
        let second = allocate(layout);
        assert_eq!(first, second, "the free list hands the block back");
        // SAFETY: as above.
        unsafe { deallocate(second, layout) };
    }

    #[test]
    fn blocks_of_one_slab_are_distinct_aligned_and_find_their_slab() {
        let layout = Layout::from_size_align(200, 16).unwrap();
        let blocks: Vec<_> = (0..3 * SLAB_BLOCKS[2]).map(|_| allocate(layout)).collect();
        let mut addrs: Vec<_> = blocks.iter().map(|block| block.as_ptr() as usize).collect();
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), blocks.len(), "every block is distinct");
        for block in &blocks {
            assert_eq!(block.as_ptr() as usize % 64, 0);
            // SAFETY: the slab of a live block is alive.
            assert_eq!(unsafe { slab_of(*block).as_ref() }.class, 2);
        }
        for block in blocks {
            // SAFETY: each allocated above, freed once.
            unsafe { deallocate(block, layout) };
        }
    }

    #[test]
    fn blocks_freed_on_other_threads_and_thread_ends_give_slabs_back() {
        // Run under miri too (tests/miri.rs covers the pool's use): every slab is freed once
        // all of its blocks are back, whoever gives them back; leaks show up under miri.
        struct Blocks(Vec<NonNull<u8>>);
        // SAFETY: the blocks are plain memory nobody else touches.
        unsafe impl Send for Blocks {}
        let layout = Layout::from_size_align(300, 8).unwrap();
        let blocks = std::thread::spawn(move || {
            Blocks(
                (0..2 * SLAB_BLOCKS[3] + 5)
                    .map(|_| allocate(layout))
                    .collect(),
            )
        })
        .join()
        .unwrap();
        std::thread::spawn(move || {
            // The whole wrapper moves in (a closure would capture only the `Vec` field).
            let blocks = blocks;
            for block in blocks.0 {
                // SAFETY: allocated by the thread above, freed once, here.
                unsafe { deallocate(block, layout) };
            }
        })
        .join()
        .unwrap();
    }
}

/// The slab protocol under loom (the per-thread caches are off there, see
/// `sync::RECYCLE_JOB_BLOCKS`; this drives `give_back` directly).
#[cfg(all(test, weft_loom))]
mod loom_models {
    use super::*;

    /// Two threads give back the blocks of one slab at once: the slab is retired (kept for
    /// reuse) exactly once, by whoever gave back the last block, after both were done.
    #[test]
    fn loom_a_slab_given_back_from_two_threads_is_retired_once() {
        loom::model(|| {
            let class = 4;
            let slab = new_slab(class).expect("a slab");
            struct Slab(NonNull<SlabHeader>);
            // SAFETY: the model's threads give back disjoint blocks of the slab.
            unsafe impl Send for Slab {}
            let half = SLAB_BLOCKS[class] / 2;
            let other = {
                let slab = Slab(slab);
                loom::thread::spawn(move || {
                    let slab = slab;
                    // SAFETY: this thread owns `half` blocks (never carved).
                    unsafe { give_back(slab.0, half) };
                })
            };
            // SAFETY: this thread owns the other blocks.
            unsafe { give_back(slab, SLAB_BLOCKS[class] - half) };
            other.join().unwrap();
            let mut spares = SPARES.lock().unwrap();
            let found = spares.iter().filter(|kept| kept.0 == slab).count();
            assert_eq!(found, 1, "retired exactly once");
            spares.retain(|kept| kept.0 != slab);
            drop(spares);
            // SAFETY: taken back out of the spares: ours, freed once.
            unsafe { alloc::dealloc(slab.as_ptr().cast(), slab_layout()) };
        });
    }
}
