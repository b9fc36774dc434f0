//! Shared helpers for the core <-> devserver integration tests.
