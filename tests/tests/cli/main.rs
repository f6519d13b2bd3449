//! End-to-end tests of the `dcos-creds` binary against the emulator over loopback TLS.

mod harness;
mod moto;
#[path = "../compat/python.rs"]
mod python;

mod access;
mod apply;
mod audit;
mod auth;
mod backup;
mod commands;
mod consumers;
mod dcos_cli;
mod demo;
mod dse_setup;
mod exposure;
mod forgery;
mod hostile;
mod input;
mod interrupt;
mod leaks;
mod manners;
mod options;
mod readme;
mod redirects;
mod rotate_key;
mod s3;
mod s3_aws;
mod signals;
mod soak;
mod thin;
mod users;
