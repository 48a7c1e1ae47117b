//! embermq: an MQTT client with a `no_std`, heap-free protocol core and a C API.
//!
//! Layers, bottom up (see DESIGN.md): [`codec`] turns packets into bytes and
//! back, [`topic`] holds the topic rules, [`session`] is the sans-IO protocol
//! state machine. Everything in those three needs only `core`.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod codec;
pub mod error;
pub mod session;
pub mod topic;

pub use error::Error;
