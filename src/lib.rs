//! embermq: an MQTT client with a `no_std`, heap-free protocol core and a C API.
//!
//! Layers, bottom up (see DESIGN.md): [`codec`] turns packets into bytes and
//! back, [`topic`] holds the topic rules, [`session`] is the sans-IO protocol
//! state machine. Everything in those three needs only `core`.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod client;
pub mod codec;
pub mod error;
pub mod ffi;
/// cbindgen:ignore
#[cfg(feature = "paho")]
pub mod paho;
pub mod session;
pub mod time;
pub mod topic;
pub mod transport;

pub use error::Error;

/// Firmware builds: a panic (a bug in embermq, never bad input) ends in the
/// firmware's `emq_platform_abort()`, which must not return: reset, log or halt.
#[cfg(all(not(feature = "std"), not(test), feature = "panic-handler"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn emq_platform_abort() -> !;
    }
    // SAFETY: the firmware provides this hook; it takes no arguments and
    // never returns, which is all this call relies on.
    unsafe { emq_platform_abort() }
}
