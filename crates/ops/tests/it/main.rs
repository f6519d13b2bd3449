//! In-process tests of the workflows against the emulator.
