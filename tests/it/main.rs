//! Integration tests: every test drives the real `hubferry` binary.

mod batch;
mod cli;
mod cost;
mod detach;
mod doctor;
mod faults;
mod kill;
mod locks;
mod logs;
mod migrate;
mod mirrors;
mod org;
mod preflight;
mod race;
mod render;
mod repo_types;
mod revisions;
mod selection;
mod streams;
mod support;
