//! Staying connected: automatic reconnect with backoff, resubscribing when
//! the broker lost the session, and the outbox persistence hook.
#![allow(non_camel_case_types)]

use super::{emq_client, emq_err, EMQ_ERR_NULL_POINTER, EMQ_OK};
use crate::client::backoff::Backoff;
use crate::codec::{QoS, SubscribeTopic};

/// Where the last connect went: host, port, TLS if a URI scheme said so.
pub(super) type ConnectTarget = (String, u16, Option<bool>);

/// Reconnect state and the subscriptions to make again.
pub(super) struct Reconnect {
    /// `emq_options.auto_reconnect`.
    pub enabled: bool,
    /// `emq_options.resubscribe`.
    pub resubscribe: bool,
    /// The broker of the latest `emq_client_connect`.
    pub target: Option<ConnectTarget>,
    /// Reconnecting until `emq_client_disconnect` (or free).
    pub active: bool,
    /// When to try next, on the client's clock.
    pub next_attempt_ms: Option<u64>,
    pub backoff: Backoff,
    /// Filters subscribed (and not unsubscribed), in order, with their QoS.
    pub subscriptions: Vec<(String, QoS)>,
    /// Attempts since the last successful connection, for the log.
    pub failures: u32,
}

impl Reconnect {
    pub fn new(enabled: bool, resubscribe: bool, min_ms: u32, max_ms: u32, seed: u32) -> Self {
        Reconnect {
            enabled,
            resubscribe,
            target: None,
            active: false,
            next_attempt_ms: None,
            backoff: Backoff::new(min_ms, max_ms, seed),
            subscriptions: Vec::new(),
            failures: 0,
        }
    }

    /// The application asked to connect to `target`.
    pub fn requested(&mut self, target: ConnectTarget) {
        self.target = Some(target);
        self.active = self.enabled;
        self.next_attempt_ms = None;
    }

    pub fn connected(&mut self) {
        self.backoff.reset();
        self.failures = 0;
        self.next_attempt_ms = None;
    }

    /// A connection attempt failed or a connection was lost at `now_ms`.
    /// Returns the delay chosen, if reconnecting.
    pub fn schedule(&mut self, now_ms: u64, refused_code: Option<u8>) -> Option<u32> {
        if !self.active {
            return None;
        }
        // 4: bad user name or password, 5: not authorized. Retrying soon
        // cannot help; keep trying, but slowly.
        let delay = match refused_code {
            Some(4 | 5) => self.backoff.give_up_for_now(),
            _ => self.backoff.next_delay(),
        };
        self.next_attempt_ms = Some(now_ms + u64::from(delay));
        Some(delay)
    }

    pub fn stop(&mut self) {
        self.active = false;
        self.next_attempt_ms = None;
    }

    pub fn subscribed(&mut self, topics: &[SubscribeTopic<'_>]) {
        for topic in topics {
            match self
                .subscriptions
                .iter_mut()
                .find(|(f, _)| f == topic.filter)
            {
                Some(entry) => entry.1 = topic.qos,
                None => self
                    .subscriptions
                    .push((topic.filter.to_owned(), topic.qos)),
            }
        }
    }

    pub fn unsubscribed(&mut self, filters: &[&str]) {
        self.subscriptions
            .retain(|(f, _)| !filters.contains(&f.as_str()));
    }
}

/// Puts a saved outbox entry back (from the `load` hook, or any time before
/// the first connect): `packet` is what the `store` hook was given. It is
/// sent after the next CONNACK, with DUP if the broker kept the session.
/// Errors: EMQ_ERR_NULL_POINTER for a NULL `packet`,
/// EMQ_ERR_ALREADY_CONNECTED once connected, EMQ_ERR_MALFORMED_PACKET (also
/// for `packet_len` 0) or EMQ_ERR_INVALID_QOS for bytes that are not a QoS 1/2 PUBLISH,
/// EMQ_ERR_INVALID_ARGUMENT when its packet id is taken, EMQ_ERR_STORE_FULL.
///
/// # Safety
/// `client` must be a live handle; `packet` valid for `packet_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn emq_client_restore(
    client: *mut emq_client,
    packet: *const u8,
    packet_len: usize,
) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe {
        super::with_client(client, |c| {
            if packet.is_null() {
                return Err(EMQ_ERR_NULL_POINTER);
            }
            let bytes = super::bytes_arg(packet, packet_len)?;
            if bytes.is_empty() {
                // Not a PUBLISH: no fixed header at all.
                return Err(emq_err::EMQ_ERR_MALFORMED_PACKET);
            }
            let id = c.client.restore(bytes).map_err(emq_err::from)?;
            c.log(
                super::emq_log_level::EMQ_LOG_DEBUG,
                &format!("outbox: restored packet id {id}"),
            );
            Ok(())
        })
    }
}

/// Calls the `store` hook for a message just accepted into the outbox.
pub(super) fn persist_stored(c: &emq_client, packet_id: u16) -> emq_err {
    // A copy, so no lock is held while the hook runs (it may call back
    // into the client).
    let (hooks, packet) = {
        let mut core = c.core();
        let hooks = core.persistence;
        if hooks.store.is_none() {
            return EMQ_OK;
        }
        let Some(packet) = core.client.stored_packet(packet_id).map(<[u8]>::to_vec) else {
            return EMQ_OK;
        };
        (hooks, packet)
    };
    let Some(store) = hooks.store else {
        return EMQ_OK;
    };
    let mut result = EMQ_OK;
    super::in_callback(c, || {
        // SAFETY: user hook; `packet` outlives the call.
        result = unsafe { store(hooks.user_data, packet_id, packet.as_ptr(), packet.len()) }
    });
    result
}

/// Calls the `remove` hook for an acknowledged message.
pub(super) fn persist_removed(c: &emq_client, packet_id: u16) {
    let hooks = c.core().persistence;
    if let Some(remove) = hooks.remove {
        // SAFETY: user hook with valid arguments.
        super::in_callback(c, || unsafe { remove(hooks.user_data, packet_id) });
    }
}
