//! Integration tests: every test drives the real `hubferry` binary.
