//! Shared test harness: the hub sandbox as a child process, seeding through the official clients.

pub mod sandbox;
