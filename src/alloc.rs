//! The allocator's settings per stage (glibc; elsewhere these do nothing).
//!
//! glibc serves a block above its mmap threshold with a mapping of its own, given back when freed,
//! and anything smaller from its arenas, which keep freed memory for reuse. The threshold starts
//! at 128 KiB and rises to 32 MiB once big blocks are freed. For the fetch that rise is costly: a
//! page's body, decoded items and frames (a WB finance page is up to 100 000 rows, ~100 MB of
//! JSON) then come from the arenas and stay there when freed, so a medium year's backfill held
//! ~390 MiB of RSS for ~220 MiB of live heap (heaptrack). A fixed 256 KiB threshold brings it to
//! ~280 MiB in the same time. The metrics stage is the other way round: polars allocates and
//! frees column buffers of a few hundred KiB by the million, and mapping each one (its pages
//! zeroed by the kernel) doubled the stage's time; 32 MiB is where glibc's own threshold ends up.
//!
//! `mallopt` takes the main arena's lock and sets one word the allocating threads read, so it is
//! safe to call while other threads allocate; a block already handed out is freed the way it was
//! made whatever the setting is by then.

/// For fetching: big blocks are mapped and given back as soon as they are freed.
pub fn fetching() {
    set_mmap_threshold(256 << 10);
}

/// For the metrics stage: glibc's own high threshold, so buffers are reused, not mapped anew.
pub fn computing() {
    set_mmap_threshold(32 << 20);
}

fn set_mmap_threshold(bytes: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, under the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, bytes);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = bytes;
}
