//! [`Spawner`]: how the adapter starts its tasks, on whichever executor.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A task as a [`Spawner`] receives it.
pub type BoxTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Starts the adapter's tasks (one per session, and a client's reconnect
/// loop) on an executor and detaches them.
///
/// futures-io has no `spawn`, so the executor is a setting. The default,
/// [`Spawner::smol`], uses smol's global executor, which runs on threads of
/// its own (`SMOL_THREADS`, default 1) and so works from any runtime. Under
/// async-std, hand tasks to its executor instead:
///
/// ```
/// # use proto_smol::Spawner;
/// let spawner = Spawner::new(|task| {
///     async_std::task::spawn(task); // dropping the handle detaches the task
/// });
/// ```
#[derive(Clone)]
pub struct Spawner(Arc<dyn Fn(BoxTask) + Send + Sync>);

impl Spawner {
    /// A spawner that calls `spawn` with each task; `spawn` must run the
    /// task to completion without being awaited.
    pub fn new(spawn: impl Fn(BoxTask) + Send + Sync + 'static) -> Self {
        Self(Arc::new(spawn))
    }

    /// `smol::spawn(task).detach()` (the default).
    pub fn smol() -> Self {
        Self::new(|task| smol::spawn(task).detach())
    }

    /// Starts `task`, discarding its output.
    pub fn spawn<T: Future + Send + 'static>(&self, task: T) {
        (self.0)(Box::pin(async move {
            task.await;
        }));
    }
}

impl Default for Spawner {
    fn default() -> Self {
        Self::smol()
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Spawner")
    }
}
