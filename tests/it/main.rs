//! Integration tests: every test drives the real `hubferry` binary.

mod batch;
mod cli;
mod detach;
mod doctor;
mod logs;
mod migrate;
mod mirrors;
mod preflight;
mod render;
mod support;
