//! Pause, resume and abort: the platform-free [`crate::upload::control::Control`], used here
//! too by the hashing pool (an abort stops a worker's job).

pub use crate::upload::control::{Control, RunState};
