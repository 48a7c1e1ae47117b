//! Arbitrary bytes into the codec's decoders: they must never panic, must
//! never claim more bytes than the input holds, and every packet they return
//! must survive an encode/decode round trip unchanged.
//!
//! An input whose first byte is [`SELECT_V5`] also goes, without that byte,
//! to the MQTT 5 decoder (`embermq::codec::v5`, the `mqtt5` feature that
//! `std` brings).
#![no_main]

use embermq::codec::{decode, decode_from_server, Decoded, Packet, MAX_PACKET_SIZE};
use libfuzzer_sys::fuzz_target;

/// The receive-buffer limit the decoders are run with.
const MAX: usize = 4096;

/// First byte of an MQTT 5 input: packet type 0 is reserved in both
/// versions, so the 3.1.1 decoders stop at it and the 3.1.1 seeds keep
/// their meaning.
const SELECT_V5: u8 = 0x05;

fuzz_target!(|data: &[u8]| {
    consume(data, decode);
    consume(data, decode_from_server);
    if let Some((&SELECT_V5, v5_input)) = data.split_first() {
        v5::consume(v5_input);
    }
});

type Decoder = for<'a> fn(&'a [u8], usize) -> Result<Decoded<'a>, embermq::Error>;

/// Decodes packet after packet from `data` until an error, an incomplete
/// packet or the end of the input.
fn consume(data: &[u8], decoder: Decoder) {
    let mut rest = data;
    // Every packet is at least 2 bytes, so this bounds the loop.
    for _ in 0..=data.len() / 2 {
        match decoder(rest, MAX) {
            Ok(Decoded::Packet { packet, len }) => {
                assert!(len >= 2 && len <= rest.len() && len <= MAX, "len {len}");
                roundtrip(&packet);
                // The same bytes, cut to the packet, decode the same way.
                assert_eq!(
                    decoder(&rest[..len], MAX),
                    Ok(Decoded::Packet { packet, len })
                );
                rest = &rest[len..];
            }
            Ok(Decoded::Incomplete { needed }) => {
                assert!(needed >= 1);
                return;
            }
            Err(_) => return,
        }
    }
    panic!("more packets than {} bytes can hold", data.len());
}

/// Re-encodes `packet` into a stack buffer and checks it decodes to itself.
fn roundtrip(packet: &Packet<'_>) {
    let mut buf = [0u8; 8192];
    let len = packet.encoded_len().expect("a decoded packet must encode");
    let written = packet
        .encode(&mut buf)
        .expect("a decoded packet must encode");
    assert_eq!(written, len);
    // A decoded packet fits in MAX bytes; re-encoding never grows it.
    assert!(written <= MAX);
    match decode(&buf[..written], MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet: again, len }) => {
            assert_eq!(len, written);
            assert_eq!(&again, packet);
        }
        other => panic!("re-decode of {packet:?} gave {other:?}"),
    }
}

/// The MQTT 5 decoder of what a server sends.
mod v5 {
    use super::MAX;
    use embermq::codec::v5::{
        decode_from_server, AckKind, Decoded, Encode, Properties, PropertyId, ReasonPacket, Sender,
        ServerPacket,
    };

    /// Decodes packet after packet until an error, an incomplete packet or
    /// the end: every error names its reason code, and every packet decodes
    /// the same from exactly its bytes and, where a client may send the
    /// same, encodes back to what decodes to it again.
    pub fn consume(data: &[u8]) {
        let mut rest = data;
        for _ in 0..=data.len() / 2 {
            match decode_from_server(rest, MAX) {
                Ok(Decoded::Packet { packet, len }) => {
                    assert!(len >= 2 && len <= rest.len() && len <= MAX, "len {len}");
                    assert_eq!(
                        decode_from_server(&rest[..len], MAX),
                        Ok(Decoded::Packet { packet, len })
                    );
                    roundtrip(&packet);
                    rest = &rest[len..];
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed >= 1);
                    return;
                }
                Err(e) => {
                    assert!(e.reason_code().is_some(), "{e:?} has no reason code");
                    return;
                }
            }
        }
        panic!("more packets than {} bytes can hold", data.len());
    }

    /// Re-encodes the packets both sides send, when what the server sent
    /// is also what a client may send, and checks they decode to themselves.
    fn roundtrip(packet: &ServerPacket<'_>) {
        let mut buf = [0u8; 8192];
        let written = match packet {
            ServerPacket::Publish(p) => {
                // Subscription Identifiers are the server's only.
                if has(&p.properties, PropertyId::SubscriptionIdentifier) {
                    return;
                }
                match p.encode(&mut buf) {
                    Ok(len) => len,
                    // The payload format is checked only when sending.
                    Err(e) => return assert_eq!(e, p.check_payload_format().unwrap_err()),
                }
            }
            ServerPacket::PubAck(r) => r.encode(AckKind::PubAck, &mut buf).unwrap(),
            ServerPacket::PubRec(r) => r.encode(AckKind::PubRec, &mut buf).unwrap(),
            ServerPacket::PubRel(r) => r.encode(AckKind::PubRel, &mut buf).unwrap(),
            ServerPacket::PubComp(r) => r.encode(AckKind::PubComp, &mut buf).unwrap(),
            ServerPacket::Disconnect(d)
                if d.reason
                    .allowed_in(ReasonPacket::Disconnect, Sender::Client) =>
            {
                d.encode(&mut buf).unwrap()
            }
            // 0x18 is the only AUTH code both sides send (Table 3-11).
            ServerPacket::Auth(a) if a.reason.allowed_in(ReasonPacket::Auth, Sender::Client) => {
                a.encode(&mut buf).unwrap()
            }
            _ => return,
        };
        assert!(written <= MAX);
        match decode_from_server(&buf[..written], usize::MAX) {
            Ok(Decoded::Packet { packet: again, len }) => {
                assert_eq!(len, written);
                assert_eq!(&again, packet);
            }
            other => panic!("re-decode of {packet:?} gave {other:?}"),
        }
    }

    fn has(properties: &Properties<'_>, id: PropertyId) -> bool {
        properties.get(id).is_some()
    }
}
