//! Pause, resume and abort, shared between the JS handle and the running upload.
//!
//! The JS methods `pause()`, `resume()` and `abort()` only flip a state here and abort the
//! requests registered as in flight; the engine checks the state between steps and waits while
//! paused. Single-threaded (wasm): `Cell`/`RefCell` and wakers, no locks.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::task::{Poll, Waker};

use futures::future::{self, Either};
use web_sys::XmlHttpRequest;

use crate::error::Error;

/// The run state as the caller sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Work proceeds.
    Running,
    /// No new part starts; parts in flight were aborted and will be sent again on resume.
    Paused,
    /// Everything stops; the upload is aborted on the server.
    Aborted,
}

/// Shared run state plus the requests to abort when it changes.
pub struct Control {
    state: Cell<RunState>,
    waiters: RefCell<Vec<Waker>>,
    in_flight: RefCell<Vec<(u64, XmlHttpRequest, bool)>>,
    next_id: Cell<u64>,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            state: Cell::new(RunState::Running),
            waiters: RefCell::new(Vec::new()),
            in_flight: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
        }
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

    /// Pauses: aborts the part requests in flight (they are sent again on resume).
    pub fn pause(&self) {
        if self.state.get() == RunState::Running {
            self.state.set(RunState::Paused);
            self.abort_requests(true);
            self.wake();
        }
    }

    /// Resumes after [`Control::pause`].
    pub fn resume(&self) {
        if self.state.get() == RunState::Paused {
            self.state.set(RunState::Running);
            self.wake();
        }
    }

    /// Aborts: every request in flight is aborted and every wait ends with an `aborted` error.
    pub fn abort(&self) {
        if self.state.get() != RunState::Aborted {
            self.state.set(RunState::Aborted);
            self.abort_requests(false);
            self.wake();
        }
    }

    fn abort_requests(&self, pausable_only: bool) {
        // Collect first: `abort()` fires events synchronously, whose handlers may deregister.
        let targets: Vec<XmlHttpRequest> = self
            .in_flight
            .borrow()
            .iter()
            .filter(|(_, _, pausable)| *pausable || !pausable_only)
            .map(|(_, x, _)| x.clone())
            .collect();
        for x in targets {
            let _ = x.abort();
        }
    }

    fn add_waiter(&self, waker: &Waker) {
        let mut w = self.waiters.borrow_mut();
        if !w.iter().any(|x| x.will_wake(waker)) {
            w.push(waker.clone());
        }
    }

    fn wake(&self) {
        for w in self.waiters.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Registers a request to abort on `abort()` (and on `pause()` when `pausable`); returns
    /// the id to pass to [`Control::unregister`].
    pub fn register(&self, xhr: &XmlHttpRequest, pausable: bool) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.in_flight.borrow_mut().push((id, xhr.clone(), pausable));
        id
    }

    /// Forgets a finished request.
    pub fn unregister(&self, id: u64) {
        self.in_flight.borrow_mut().retain(|(i, _, _)| *i != id);
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

    /// Runs `fut`, giving up with `aborted` as soon as the upload is aborted.
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

/// `pause()` of both uploaders: pauses a running upload and marks its progress events paused.
pub fn pause_upload(control: &Control, progress: &super::progress::Progress) {
    if control.state() == RunState::Running {
        control.pause();
        progress.paused(true);
    }
}

/// `resume()` of both uploaders: resumes a paused upload and clears the paused mark.
pub fn resume_upload(control: &Control, progress: &super::progress::Progress) {
    if control.state() == RunState::Paused {
        control.resume();
        progress.paused(false);
    }
}
