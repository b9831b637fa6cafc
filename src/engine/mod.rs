//! Running one plan: execute it (render, start the workers), watch them, or detach.

pub mod detach;
pub mod watch;
