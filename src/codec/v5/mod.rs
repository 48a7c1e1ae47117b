//! MQTT 5.0 (OASIS standard, 7 March 2019) packets to bytes and back,
//! behind the cargo feature `mqtt5`.
//!
//! Like the 3.1.1 codec it is `no_std` and heap-free, and has a client's
//! halves only: [`Encode`] for what a client sends ([`ClientPacket`]) and
//! [`decode_from_server`] for what a server sends ([`ServerPacket`]).
//! Decoding borrows from the receive buffer; properties stay there
//! ([`Properties::Wire`]), validated once, and are read as typed
//! [`Property`] values. Encoding validates and sizes a packet once
//! ([`Encode::size`]) and writes it into caller memory.
//!
//! Every rule the standard puts on received data is a named [`V5Error`];
//! [`V5Error::reason_code`] gives the reason code to answer with (0x81
//! Malformed Packet, 0x82 Protocol Error, ...). Section numbers in comments
//! are the standard's; `[MQTT-x.y.z-n]` are its normative statements.

mod decode;
mod encode;
mod error;
mod packet;
mod property;
mod reason;
mod varint;
mod wire;

pub use decode::{decode_from_server, frame, Decoded};
pub use encode::{Encode, PacketSize, SubscribeQos};
pub(crate) use encode::{FilterRequest, TypedResponse};
pub use error::V5Error;
pub use packet::*;
pub use property::{
    Joined, Properties, PropertiesIter, Property, PropertyContext, PropertyId, PropertySource,
    PropertyType, PropertyWriter,
};
pub use reason::{ReasonCode, ReasonPacket, Sender};
pub use varint::{decode_varint, encode_varint, varint_len, VARINT_MAX};

/// The protocol version byte of an MQTT 5 CONNECT (3.1.2.2).
pub const PROTOCOL_VERSION: u8 = 5;

#[cfg(test)]
mod tests;
