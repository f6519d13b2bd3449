//! End-to-end tests of the workspace against the emulator; the tests live in `tests/`.
