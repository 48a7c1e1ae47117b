//! Arbitrary bytes into the codec's decoders: they must never panic, must
//! never claim more bytes than the input holds, and every packet they return
//! must survive an encode/decode round trip unchanged.
#![no_main]

use embermq::codec::{decode, decode_from_server, Decoded, Packet, MAX_PACKET_SIZE};
use libfuzzer_sys::fuzz_target;

/// The receive-buffer limit the decoders are run with.
const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    consume(data, decode);
    consume(data, decode_from_server);
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
