//! The one tokio runtime of the process.

use std::future::Future;
use std::sync::OnceLock;

/// The process's runtime (multi-threaded, I/O and timers on), started on first use and
/// kept for the life of the process, so clients bound to it (octocrab spawns a worker
/// task) stay usable across calls.
///
/// # Panics
/// When the operating system refuses the runtime's threads or its I/O driver.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("bitvault-io")
            .build()
            .expect("cannot start the async runtime (out of threads or file descriptors?)")
    })
}

/// Runs `fut` to completion on the process's runtime: the one way synchronous action
/// code calls async code. Several threads may call it at once.
///
/// # Panics
/// When called from async code (inside a runtime): await the future there instead.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    runtime().block_on(fut)
}
