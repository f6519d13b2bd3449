//! End-to-end tests of the workspace against the emulator; the tests live in `tests/`.
//!
//! The Rust examples of the README are compiled and run as doctests of this crate, so that
//! they stay true.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
