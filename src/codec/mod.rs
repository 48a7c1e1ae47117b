//! MQTT packets to bytes and back (being written).
