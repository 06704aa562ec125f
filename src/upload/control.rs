//! Pause, resume and abort, shared between the JS handle and the running upload.
//!
//! The handle's `pause()`, `resume()` and `abort()` only flip a state here and wake whoever
//! waits on it; the driver races every request and wait against that state and drops what it
//! no longer wants (the browser transport aborts a request whose future is dropped).
//! Single-threaded (the browser's event loop, or a local executor in tests): `Cell`/`RefCell`
//! and wakers, no locks.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::task::{Poll, Waker};

use futures::future::{self, Either};

use crate::error::Error;

/// The run state as the caller sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Work proceeds.
    Running,
    /// No new part starts; parts in flight were stopped and will be sent again on resume.
    Paused,
    /// Everything stops; the upload is aborted on the server.
    Aborted,
}

/// Shared run state plus the wakers of whoever waits for it to change.
#[derive(Debug)]
pub struct Control {
    state: Cell<RunState>,
    waiters: RefCell<Vec<Waker>>,
}

impl Default for Control {
    fn default() -> Self {
        Control { state: Cell::new(RunState::Running), waiters: RefCell::new(Vec::new()) }
    }
}

impl Control {
    /// The current state.
    pub fn state(&self) -> RunState {
        self.state.get()
    }

    /// Whether `abort()` was called.
    pub fn is_aborted(&self) -> bool {
        self.state.get() == RunState::Aborted
    }

    /// Whether the upload is paused.
    pub fn is_paused(&self) -> bool {
        self.state.get() == RunState::Paused
    }

    /// Pauses a running upload; returns whether the state changed.
    pub fn pause(&self) -> bool {
        self.set_if(RunState::Running, RunState::Paused)
    }

    /// Resumes after [`Control::pause`]; returns whether the state changed.
    pub fn resume(&self) -> bool {
        self.set_if(RunState::Paused, RunState::Running)
    }

    /// Aborts: every wait ends with an `aborted` error.
    pub fn abort(&self) {
        if self.state.get() != RunState::Aborted {
            self.state.set(RunState::Aborted);
            self.wake();
        }
    }

    fn set_if(&self, from: RunState, to: RunState) -> bool {
        if self.state.get() != from {
            return false;
        }
        self.state.set(to);
        self.wake();
        true
    }

    fn add_waiter(&self, waker: &Waker) {
        let mut w = self.waiters.borrow_mut();
        if !w.iter().any(|x| x.will_wake(waker)) {
            w.push(waker.clone());
        }
    }

    fn wake(&self) {
        let waiters: Vec<Waker> = self.waiters.borrow_mut().drain(..).collect();
        for w in waiters {
            w.wake();
        }
    }

    /// Resolves when the state is `Running`; fails with `aborted` once aborted.
    pub async fn wait_running(&self) -> Result<(), Error> {
        future::poll_fn(|cx| match self.state.get() {
            RunState::Running => Poll::Ready(Ok(())),
            RunState::Aborted => Poll::Ready(Err(Error::aborted())),
            RunState::Paused => {
                self.add_waiter(cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    /// Resolves once the state is no longer `Running` (paused or aborted).
    pub async fn interrupted(&self) -> RunState {
        future::poll_fn(|cx| match self.state.get() {
            RunState::Running => {
                self.add_waiter(cx.waker());
                Poll::Pending
            }
            other => Poll::Ready(other),
        })
        .await
    }

    /// Resolves (with an `aborted` error) once aborted.
    pub async fn aborted(&self) -> Error {
        future::poll_fn(|cx| {
            if self.is_aborted() {
                Poll::Ready(Error::aborted())
            } else {
                self.add_waiter(cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    /// Runs `fut`, giving up with `aborted` as soon as the upload is aborted (`fut` is dropped).
    pub async fn unless_aborted<T>(&self, fut: impl Future<Output = T>) -> Result<T, Error> {
        if self.is_aborted() {
            return Err(Error::aborted());
        }
        match future::select(pin!(fut), pin!(self.aborted())).await {
            Either::Left((v, _)) => Ok(v),
            Either::Right((e, _)) => Err(e),
        }
    }
}
