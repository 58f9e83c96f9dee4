//! One module per command. Each builds what it needs from [`crate::config::Settings`] and
//! the parsed flags, and owns the order in which things start and stop.

pub mod report;
pub mod serve;
#[cfg(windows)]
pub mod service;
pub mod trace;
