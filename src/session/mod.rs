//! The sans-IO protocol state machine (being written).
