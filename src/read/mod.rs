//! Finding, opening and reading log files into complete lines: what following the logs
//! ([`crate::tail`]) and reading them once (`report`, `trace`) share.
//!
//! - [`discover`]: which log files a directory holds, and of which kind ([`discover::LogFile`]);
//! - [`range`]: a time range of lines as a person writes it, and which files can hold it;
//! - [`open`]: how a log file is opened (regular files only), and the descriptor limit;
//! - [`lines`]: where a line ends, in a reused, bounded buffer;
//! - [`sink`]: the [`Sink`] every reader hands its lines to;
//! - [`once`]: a whole file from start to end, with [`readahead`] reading ahead on a
//!   second thread.
//!
//! Owns bytes and line ends; what a line says is [`crate::parse`]'s, what it means
//! [`crate::meaning`]'s, and which offset was counted (checkpoints) [`crate::tail`]'s.

pub mod discover;
pub mod lines;
pub mod once;
pub mod open;
pub mod range;
pub mod readahead;
pub mod sink;

pub use sink::{EachLine, Sink};
