//! Real DC/OS tools, unchanged, against the emulator: what they did is checked through the
//! Rust clients.

mod dcos_deploy;
mod keytab;
mod python;
