//! The `wsspec` binary: all behaviour lives in the library; see `wsspec::cli`.

fn main() {
    bound_allocator();
    std::process::exit(wsspec::cli::main());
}

/// glibc's allocator raises its mmap threshold each time a large block is freed, after which
/// the 1-16 MiB payloads of the `limits` cases come from arenas that are never given back,
/// and each worker thread grows an arena of its own: resident memory then follows the
/// largest messages of the whole run, not of the cases in flight. A fixed threshold returns
/// large blocks to the system at once, and two arenas bound the per-thread growth.
fn bound_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
