//! The local stand-ins for the services the proxy fronts, so the demo, the tests and the
//! benchmark run on one machine: [`omics`] (the HealthOmics storage API, SigV4-checked) and
//! [`sbg`] (the Seven Bridges upload API), sharing one [`clock`].
//!
//! Nothing here is part of the security boundary: that is [`crate::proxy`].

pub mod clock;
pub mod omics;
pub mod sbg;
