//! Integration tests: every test drives the real `hubferry` binary.

mod preflight;
mod support;
