//! End-to-end tests of the workspace against the emulator; the tests live in `tests/`.
//!
//! The Rust examples of the README and of `docs/library.md` are compiled and run as doctests
//! of this crate, so that they stay true.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/library.md")]
pub struct LibraryDoctests;
