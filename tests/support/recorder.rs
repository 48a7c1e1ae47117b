//! What the callbacks of a client driven through the C API saw: the
//! recorder the C API tests (faults, websocket) share. Pass a `Seen` as
//! `user_data` with these callbacks.
use embermq::ffi::*;
use std::ffi::c_void;

/// Everything the callbacks saw.
#[derive(Default)]
pub struct Seen {
    pub connects: Vec<(bool, u8)>,
    pub disconnects: Vec<emq_err>,
    /// (topic, payload) in delivery order.
    pub messages: Vec<(String, Vec<u8>)>,
    /// (packet id, DUP) of each message, parallel to `messages`.
    pub message_ids: Vec<(u16, bool)>,
    pub published: Vec<u16>,
    pub subscribed: usize,
}

pub unsafe extern "C" fn on_connect(ud: *mut c_void, _: *mut emq_client, present: bool, code: u8) {
    unsafe { &mut *(ud as *mut Seen) }
        .connects
        .push((present, code));
}

pub unsafe extern "C" fn on_disconnect(ud: *mut c_void, _: *mut emq_client, reason: emq_err) {
    unsafe { &mut *(ud as *mut Seen) }.disconnects.push(reason);
}

pub unsafe extern "C" fn on_message(ud: *mut c_void, _: *mut emq_client, m: *const emq_message) {
    let seen = unsafe { &mut *(ud as *mut Seen) };
    let m = unsafe { &*m };
    let topic = unsafe { std::slice::from_raw_parts(m.topic.cast::<u8>(), m.topic_len) };
    let payload = unsafe { std::slice::from_raw_parts(m.payload, m.payload_len) };
    seen.messages.push((
        String::from_utf8_lossy(topic).into_owned(),
        payload.to_vec(),
    ));
    seen.message_ids.push((m.packet_id, m.dup));
}

pub unsafe extern "C" fn on_published(ud: *mut c_void, _: *mut emq_client, id: u16) {
    unsafe { &mut *(ud as *mut Seen) }.published.push(id);
}

pub unsafe extern "C" fn on_subscribed(
    ud: *mut c_void,
    _: *mut emq_client,
    _: u16,
    _: *const u8,
    _: usize,
) {
    unsafe { &mut *(ud as *mut Seen) }.subscribed += 1;
}
