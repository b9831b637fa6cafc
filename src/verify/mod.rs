//! Proof that a copy holds the files it should: a destination against the plan's expected
//! manifest, and two repositories against each other.

pub mod compare;
pub mod destination;
pub mod pair;
