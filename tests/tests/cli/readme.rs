//! The README's command-line walkthrough, run as written against the emulator.
