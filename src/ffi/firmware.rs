//! The firmware implementation of the C API (no_std): the client lives in
//! caller storage and moves bytes through C transport callbacks.

/// An MQTT client in memory the firmware provides.
pub struct emq_client {
    _opaque: [u8; 0],
}
