//! MQTT 5 in the C API, written once for both builds: typed properties to
//! send (`emq_property` arrays) and to read (`emq_properties`), the v5
//! forms of publish, subscribe, unsubscribe and disconnect, and
//! reason-code texts. The types are in every build (`emq_options` has one
//! layout); the calls need the cargo feature `mqtt5` (hosts have it). The
//! rules (which property goes where, value ranges, the server's limits)
//! are the core's: this layer only converts.

#[cfg(feature = "mqtt5")]
use super::client::{disconnect_with, handle, publish_call, request_call, FreeWhenDone};
use super::*;
#[cfg(feature = "mqtt5")]
use crate::client::ClientEvent;
#[cfg(feature = "mqtt5")]
use crate::codec::v5::{Properties, Property, PropertyContext, PropertyId, PropertySource};

/// Property identifiers (MQTT 5.0 Table 2-4), for `emq_property.id`.
#[allow(non_camel_case_types)]
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emq_property_id {
    /// Byte 0/1 (PUBLISH, will): the payload is UTF-8 text.
    EMQ_PROP_PAYLOAD_FORMAT_INDICATOR = 0x01,
    /// Four Byte Integer (PUBLISH, will): the message's lifetime in seconds.
    EMQ_PROP_MESSAGE_EXPIRY_INTERVAL = 0x02,
    /// UTF-8 string (PUBLISH, will).
    EMQ_PROP_CONTENT_TYPE = 0x03,
    /// UTF-8 string (PUBLISH, will): the topic to answer on.
    EMQ_PROP_RESPONSE_TOPIC = 0x08,
    /// Binary Data (PUBLISH, will).
    EMQ_PROP_CORRELATION_DATA = 0x09,
    /// Variable Byte Integer 1..268435455 (SUBSCRIBE; received PUBLISH).
    EMQ_PROP_SUBSCRIPTION_IDENTIFIER = 0x0b,
    /// Four Byte Integer (CONNECT, CONNACK, DISCONNECT).
    EMQ_PROP_SESSION_EXPIRY_INTERVAL = 0x11,
    /// UTF-8 string (CONNACK).
    EMQ_PROP_ASSIGNED_CLIENT_IDENTIFIER = 0x12,
    /// Two Byte Integer (CONNACK): the keepalive the client uses.
    EMQ_PROP_SERVER_KEEP_ALIVE = 0x13,
    /// UTF-8 string (CONNECT, CONNACK, AUTH).
    EMQ_PROP_AUTHENTICATION_METHOD = 0x15,
    /// Binary Data (CONNECT, CONNACK, AUTH).
    EMQ_PROP_AUTHENTICATION_DATA = 0x16,
    /// Byte 0/1 (CONNECT).
    EMQ_PROP_REQUEST_PROBLEM_INFORMATION = 0x17,
    /// Four Byte Integer (will).
    EMQ_PROP_WILL_DELAY_INTERVAL = 0x18,
    /// Byte 0/1 (CONNECT).
    EMQ_PROP_REQUEST_RESPONSE_INFORMATION = 0x19,
    /// UTF-8 string (CONNACK).
    EMQ_PROP_RESPONSE_INFORMATION = 0x1a,
    /// UTF-8 string (CONNACK, DISCONNECT): another server to use.
    EMQ_PROP_SERVER_REFERENCE = 0x1c,
    /// UTF-8 string (acknowledgements, DISCONNECT, AUTH).
    EMQ_PROP_REASON_STRING = 0x1f,
    /// Two Byte Integer (CONNECT, CONNACK).
    EMQ_PROP_RECEIVE_MAXIMUM = 0x21,
    /// Two Byte Integer (CONNECT, CONNACK).
    EMQ_PROP_TOPIC_ALIAS_MAXIMUM = 0x22,
    /// Two Byte Integer (PUBLISH).
    EMQ_PROP_TOPIC_ALIAS = 0x23,
    /// Byte 0/1 (CONNACK).
    EMQ_PROP_MAXIMUM_QOS = 0x24,
    /// Byte 0/1 (CONNACK).
    EMQ_PROP_RETAIN_AVAILABLE = 0x25,
    /// UTF-8 string pair (every packet; may repeat): `data` is the name,
    /// `value` the value.
    EMQ_PROP_USER_PROPERTY = 0x26,
    /// Four Byte Integer (CONNECT, CONNACK).
    EMQ_PROP_MAXIMUM_PACKET_SIZE = 0x27,
    /// Byte 0/1 (CONNACK).
    EMQ_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28,
    /// Byte 0/1 (CONNACK).
    EMQ_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29,
    /// Byte 0/1 (CONNACK).
    EMQ_PROP_SHARED_SUBSCRIPTION_AVAILABLE = 0x2a,
}

/// One MQTT 5 property. To send, fill `id` and the fields its type uses
/// (`emq_property_id` says each one's type); received ones are filled the
/// same way: `number` for integers (`data` NULL), `data` for strings and
/// binary data (pointing into the packet, not NUL-terminated: copy a
/// Response Topic before passing it as a topic), `data` and `value` for a
/// User Property. A received property may be passed back as it is, e.g. a
/// request's Correlation Data to `emq_client_publish_v5` in the answer.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_property {
    /// Which property: an `emq_property_id` value.
    pub id: u8,
    /// An integer property's value (Byte, Two Byte, Four Byte or Variable
    /// Byte Integer; 0 or 1 for the flags and Maximum QoS).
    pub number: u32,
    /// A string or binary property's bytes, or a User Property's name (no
    /// NUL needed; NULL allowed when `data_len` is 0).
    pub data: *const c_char,
    /// Length of `data` in bytes (at most 65535).
    pub data_len: usize,
    /// A User Property's value (as `data`).
    pub value: *const c_char,
    /// Length of `value` in bytes.
    pub value_len: usize,
}

/// A received property list (checked when its packet was read), valid as
/// long as the callback that got it. Read it with `emq_properties_next`
/// or `emq_properties_get`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_properties {
    /// The properties as they came (read them through the functions).
    pub bytes: *const u8,
    /// Length of `bytes`; 0 for none.
    pub len: usize,
}

#[cfg(feature = "mqtt5")]
impl emq_properties {
    /// No properties.
    pub(crate) const NONE: emq_properties = emq_properties {
        bytes: core::ptr::null(),
        len: 0,
    };
}

/// One entry for `emq_client_subscribe_v5`: a filter and its MQTT 5
/// subscription options.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_subscription_v5 {
    /// Topic filter, NUL-terminated; may contain `+` and `#`, or be a
    /// shared subscription (`$share/group/filter`).
    pub filter: *const c_char,
    /// Maximum QoS wanted (0..2).
    pub qos: u8,
    /// Do not receive this client's own publishes (not on a `$share` filter).
    pub no_local: bool,
    /// Keep the RETAIN flag as the publisher set it.
    pub retain_as_published: bool,
    /// Retained messages at subscribe time: 0 send, 1 send only for a new
    /// subscription, 2 do not send.
    pub retain_handling: u8,
}

/// A C array of properties, checked once, read as the core's properties.
#[cfg(feature = "mqtt5")]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CProperties<'a> {
    list: &'a [emq_property],
}

#[cfg(feature = "mqtt5")]
impl<'a> CProperties<'a> {
    /// Checks `count` properties at `ptr` (NULL with 0: none): each a
    /// known id with a value of its type, and the whole list fit for
    /// `context` (EMQ_ERR_INVALID_PROPERTY otherwise).
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for `count` entries whose pointers are
    /// valid for their lengths, all for `'a`.
    pub(crate) unsafe fn new(
        ptr: *const emq_property,
        count: usize,
        context: PropertyContext,
    ) -> Result<CProperties<'a>, emq_err> {
        let list = if count == 0 {
            &[][..]
        } else if ptr.is_null() {
            return Err(EMQ_ERR_NULL_POINTER);
        } else if count > usize::from(u16::MAX) {
            return Err(EMQ_ERR_INVALID_PROPERTY);
        } else {
            // SAFETY: non-NULL, `count` entries per the contract.
            unsafe { core::slice::from_raw_parts(ptr, count) }
        };
        for p in list {
            // SAFETY: the entry's pointers are valid per the contract.
            unsafe { property_of(p) }?;
        }
        let checked = CProperties { list };
        checked
            .properties()
            .checked_len(context)
            .map_err(|_| EMQ_ERR_INVALID_PROPERTY)?;
        Ok(checked)
    }

    /// The list as the core reads it.
    pub(crate) fn properties(&self) -> Properties<'_> {
        Properties::Source(self)
    }
}

#[cfg(feature = "mqtt5")]
impl PropertySource for CProperties<'_> {
    fn property(&self, index: usize) -> Option<Property<'_>> {
        // SAFETY: checked by `new`, valid for the list's life.
        unsafe { property_of(self.list.get(index)?) }.ok()
    }
}

/// The core's form of a C property.
///
/// # Safety
/// `p`'s pointers must be valid for their lengths for `'a`.
#[cfg(feature = "mqtt5")]
unsafe fn property_of<'a>(p: &'a emq_property) -> Result<Property<'a>, emq_err> {
    let id = PropertyId::from_u8(p.id).ok_or(EMQ_ERR_INVALID_PROPERTY)?;
    // SAFETY: valid per the contract.
    let data = unsafe { bytes_arg(p.data.cast(), p.data_len) }?;
    // SAFETY: valid per the contract.
    let value = unsafe { bytes_arg(p.value.cast(), p.value_len) }?;
    Property::from_parts(id, p.number, data, value).map_err(|err| match err {
        crate::codec::v5::V5Error::InvalidUtf8 => EMQ_ERR_INVALID_UTF8,
        crate::codec::v5::V5Error::NullCharacter => EMQ_ERR_NULL_CHARACTER,
        crate::codec::v5::V5Error::StringTooLong => EMQ_ERR_STRING_TOO_LONG,
        _ => EMQ_ERR_INVALID_PROPERTY,
    })
}

/// The C form of a property.
#[cfg(feature = "mqtt5")]
fn c_property(p: &Property<'_>) -> emq_property {
    let (number, data, value) = p.parts();
    // NULL rather than a dangling pointer for what the property lacks.
    let ptr = |bytes: &[u8]| match bytes {
        [] => core::ptr::null(),
        _ => bytes.as_ptr().cast::<c_char>(),
    };
    emq_property {
        id: p.id() as u8,
        number,
        data: ptr(data),
        data_len: data.len(),
        value: ptr(value),
        value_len: value.len(),
    }
}

/// The received list behind `props`.
///
/// # Safety
/// `props` must be NULL or point to an `emq_properties` from this library,
/// still valid.
#[cfg(feature = "mqtt5")]
unsafe fn received<'a>(props: *const emq_properties) -> Option<&'a [u8]> {
    // SAFETY: NULL or valid per the contract.
    let props = unsafe { props.as_ref() }?;
    // SAFETY: bytes this library handed out, valid for `len`.
    unsafe { bytes_arg(props.bytes, props.len) }.ok()
}

/// Reads the property at `*cursor` (start with 0) into `out` and moves
/// the cursor past it; false at the end (or for NULL arguments). Loop
/// `while (emq_properties_next(props, &cursor, &p))` for every property,
/// in the order they came (User Properties keep their order).
///
/// # Safety
/// `props` NULL or from this library and still valid; `cursor` and `out`
/// NULL or writable.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub unsafe extern "C" fn emq_properties_next(
    props: *const emq_properties,
    cursor: *mut usize,
    out: *mut emq_property,
) -> bool {
    // SAFETY: forwarded contract.
    let (Some(bytes), Some(cursor), false) = (
        unsafe { received(props) },
        unsafe { cursor.as_mut() },
        out.is_null(),
    ) else {
        return false;
    };
    let Some(rest) = bytes.get(*cursor..) else {
        return false;
    };
    let mut iter = Properties::Wire(rest).iter();
    let Some(property) = iter.next() else {
        return false;
    };
    *cursor = bytes.len() - iter.rest().len();
    // SAFETY: non-NULL and writable per the contract.
    unsafe { out.write(c_property(&property)) };
    true
}

/// Finds the first property `id` (an `emq_property_id`) into `out`; false
/// when there is none.
///
/// # Safety
/// As for `emq_properties_next`.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub unsafe extern "C" fn emq_properties_get(
    props: *const emq_properties,
    id: u8,
    out: *mut emq_property,
) -> bool {
    // SAFETY: forwarded contract.
    let Some(bytes) = (unsafe { received(props) }) else {
        return false;
    };
    let found = PropertyId::from_u8(id).and_then(|id| Properties::Wire(bytes).get(id));
    match (found, out.is_null()) {
        (Some(property), false) => {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { out.write(c_property(&property)) };
            true
        }
        _ => false,
    }
}

/// A static, NUL-terminated English text for an MQTT 5 reason code
/// ("success", "not authorized", "quota exceeded", ...); "unknown reason
/// code" for a value the standard does not define.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub extern "C" fn emq_reason_str(reason_code: u8) -> *const c_char {
    crate::codec::v5::ReasonCode(reason_code)
        .as_c_str()
        .as_ptr()
}

/// While the callbacks of an event from a received MQTT 5 packet run: its
/// properties for `emq_client_received_properties` (cleared when dropped).
/// `dispatch` enters it for every event, `report_connect` for CONNACKs
/// (which a blocking connect reports without `dispatch`).
#[cfg(feature = "mqtt5")]
pub(crate) struct Received<'c>(Option<&'c emq_client>);

#[cfg(feature = "mqtt5")]
impl<'c> Received<'c> {
    /// Records the properties behind `event`, if it came from a packet that
    /// had some.
    pub(crate) fn enter(c: &'c emq_client, event: &ClientEvent) -> Received<'c> {
        use crate::Error as E;
        use ClientEvent as V;
        let own = match event {
            V::Message { properties, .. } if properties.len == 0 => return Received(None),
            V::Message { properties, .. } => Some(*properties),
            V::Connected { .. }
            | V::ConnectFailed(E::ConnectionRefused(_))
            | V::ConnectionLost(E::ServerDisconnected(_))
            | V::Published { .. }
            | V::PublishFailed { .. }
            | V::Subscribed { .. }
            | V::Unsubscribed { .. }
            | V::UnsubscribedCodes { .. }
            | V::Auth { .. } => None,
            _ => return Received(None),
        };
        let mut core = c.core();
        let span = own.unwrap_or_else(|| core.sup.client().received_properties());
        if span.len == 0 {
            return Received(None);
        }
        core.received = span;
        Received(Some(c))
    }
}

#[cfg(feature = "mqtt5")]
impl Drop for Received<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.0 {
            c.core().received = crate::client::Span::default();
        }
    }
}

/// Tells `on_auth` of the broker's AUTH (inside `dispatch`, which holds
/// its properties for the call).
#[cfg(feature = "mqtt5")]
pub(crate) fn report_auth(c: &emq_client, reason: u8) {
    let (props, cb) = {
        let core = c.core();
        let bytes = core.sup.client().bytes(core.received);
        let props = emq_properties {
            bytes: bytes.as_ptr(),
            len: bytes.len(),
        };
        (props, core.callback(|cb| cb.on_auth))
    };
    if let Some((cb, user_data)) = cb {
        // SAFETY: user callback; `props` points into the receive buffer,
        // which stays as it is while `dispatch`'s caller holds `link`.
        sys::in_callback(c, || unsafe { cb(user_data, c.as_ptr(), reason, &props) });
    }
}

/// The properties of the received packet whose callback is running:
/// inside `on_message` and the per-filter handlers (the PUBLISH's),
/// `on_connect` and a refusal's `on_connect_failed` (the CONNACK's: the
/// assigned client id, the server's limits, a reason string),
/// `on_published` and `on_publish_failed` (the acknowledgement's),
/// `on_subscribed`, `on_unsuback` and `on_unsubscribed`, and
/// `on_disconnect` after the server's DISCONNECT (its reason string and
/// server reference). Anywhere else, and over MQTT 3.1.1, `*out` is empty.
/// Valid until that callback returns.
///
/// # Safety
/// `client` must be NULL or a live handle; `out` NULL or writable.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub unsafe extern "C" fn emq_client_received_properties(
    client: *const emq_client,
    out: *mut emq_properties,
) -> emq_err {
    if out.is_null() {
        return EMQ_ERR_NULL_POINTER;
    }
    // SAFETY: NULL or live per the contract.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    let props = if c.in_callback_here() {
        let core = c.core();
        let bytes = core.sup.client().bytes(core.received);
        emq_properties {
            bytes: bytes.as_ptr(),
            len: bytes.len(),
        }
    } else {
        emq_properties::NONE
    };
    // SAFETY: non-NULL and writable per the contract.
    unsafe { out.write(props) };
    EMQ_OK
}

/// `emq_client_publish` with MQTT 5 properties: `count` entries at
/// `properties` (NULL with 0: none): Payload Format Indicator, Message
/// Expiry Interval, Content Type, Response Topic, Correlation Data, User
/// Properties. Needs an MQTT 5 connection (`protocol_level` 5; offline
/// after one, with `queue_offline`, which firmware has with the cargo
/// feature `offline-queue`), else EMQ_ERR_INVALID_ARGUMENT. A
/// property not allowed in PUBLISH, repeated, or out of range is
/// EMQ_ERR_INVALID_PROPERTY; QoS above the broker's Maximum QoS is
/// EMQ_ERR_QOS_NOT_SUPPORTED, RETAIN on a broker without it
/// EMQ_ERR_RETAIN_NOT_SUPPORTED, a packet above its Maximum Packet Size
/// EMQ_ERR_PACKET_TOO_LARGE_FOR_SERVER: nothing is sent. The properties
/// are encoded with the message, so they need not outlive the call.
///
/// # Safety
/// As for `emq_client_publish`; `properties` NULL or valid for `count`
/// entries whose pointers are valid for their lengths.
#[cfg(feature = "mqtt5")]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn emq_client_publish_v5(
    client: *mut emq_client,
    topic: *const c_char,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    properties: *const emq_property,
    count: usize,
    packet_id: *mut u16,
) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe {
        publish_call(client, packet_id, move |core, _, _| {
            // SAFETY: valid per the contract.
            let (topic, payload, qos) = message_args(topic, payload, payload_len, qos)?;
            // SAFETY: valid per the contract.
            let properties = CProperties::new(properties, count, PropertyContext::Publish)?;
            // `?`, not `map_err`: no out-of-line `map_err` instance.
            Ok(core.sup.client_mut().publish_v5(
                topic,
                payload,
                qos,
                retain,
                properties.properties(),
            )?)
        })
    }
}

/// Subscribes to `count` filters with MQTT 5 subscription options (No
/// Local, Retain As Published, Retain Handling) and `properties`
/// (Subscription Identifier, User Properties). The SUBACK's reason code
/// per filter (0..2 granted QoS, 0x80 and up refused) arrives in
/// `on_subscribed`. Needs an MQTT 5 connection (EMQ_ERR_NOT_CONNECTED
/// offline, EMQ_ERR_INVALID_ARGUMENT over 3.1.1). The filters are
/// remembered for resubscribing after a reconnect (with their QoS only).
///
/// # Safety
/// `client` must be a live handle; `subscriptions` valid for `count`
/// entries with NUL-terminated filters; `properties` as for
/// `emq_client_publish_v5`; `packet_id` NULL or writable.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub unsafe extern "C" fn emq_client_subscribe_v5(
    client: *mut emq_client,
    subscriptions: *const emq_subscription_v5,
    count: usize,
    properties: *const emq_property,
    property_count: usize,
    packet_id: *mut u16,
) -> emq_err {
    use crate::codec::v5::{RetainHandling, SubscribeTopic, SubscriptionOptions};
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    unsafe {
        request_call(client, packet_id, |core| {
            const EMPTY: SubscribeTopic<'static> = SubscribeTopic {
                filter: "",
                options: SubscriptionOptions {
                    qos: crate::codec::QoS::AtMostOnce,
                    no_local: false,
                    retain_as_published: false,
                    retain_handling: RetainHandling::SendAtSubscribe,
                },
            };
            let mut topics = [EMPTY; sys::MAX_FILTERS_PER_CALL];
            // SAFETY: valid per the contract.
            let entries = list_arg(subscriptions, count, topics.len())?;
            for (slot, entry) in topics.iter_mut().zip(entries) {
                *slot = SubscribeTopic {
                    // SAFETY: NUL-terminated per the contract.
                    filter: str_arg(entry.filter)?,
                    options: SubscriptionOptions {
                        qos: qos_arg(entry.qos)?,
                        no_local: entry.no_local,
                        retain_as_published: entry.retain_as_published,
                        retain_handling: match entry.retain_handling {
                            0 => RetainHandling::SendAtSubscribe,
                            1 => RetainHandling::SendIfNew,
                            2 => RetainHandling::DoNotSend,
                            _ => return Err(EMQ_ERR_INVALID_ARGUMENT),
                        },
                    },
                };
            }
            // SAFETY: valid per the contract.
            let properties =
                CProperties::new(properties, property_count, PropertyContext::Subscribe)?;
            Ok(core
                .sup
                .subscribe_v5(&topics[..entries.len()], properties.properties())?)
        })
    }
}

/// Unsubscribes from `count` filters with MQTT 5 `properties` (User
/// Properties), dropping their handlers. The UNSUBACK's reason code per
/// filter arrives in `on_unsuback`, then `on_unsubscribed` is called.
///
/// # Safety
/// As for `emq_client_unsubscribe_many`; `properties` as for
/// `emq_client_publish_v5`.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub unsafe extern "C" fn emq_client_unsubscribe_v5(
    client: *mut emq_client,
    filters: *const *const c_char,
    count: usize,
    properties: *const emq_property,
    property_count: usize,
    packet_id: *mut u16,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    unsafe {
        request_call(client, packet_id, |core| {
            let mut storage = unfilled();
            // SAFETY: valid per the contract.
            let list = filter_args(filters, count, &mut storage)?;
            // SAFETY: valid per the contract.
            let properties =
                CProperties::new(properties, property_count, PropertyContext::Unsubscribe)?;
            Ok(core.sup.unsubscribe_v5(list, properties.properties())?)
        })
    }
}

/// Sends an MQTT 5 AUTH for enhanced authentication: 0x18 Continue
/// authentication answers the broker's challenge (`on_auth`), while
/// connecting or during a re-authentication; 0x19 Re-authenticate starts
/// one once connected (the broker answers with AUTH, ending in 0x00 in
/// `on_auth`, or disconnects). `properties` must name the Authentication
/// Method of `emq_options.connect_properties` and may carry
/// Authentication Data and a Reason String. Another reason, another
/// moment, or a CONNECT without an Authentication Method is
/// EMQ_ERR_INVALID_ARGUMENT; a bad property EMQ_ERR_INVALID_PROPERTY.
/// Allowed inside callbacks.
///
/// # Safety
/// `client` must be a live handle; `properties` as for
/// `emq_client_publish_v5`.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub unsafe extern "C" fn emq_client_auth(
    client: *mut emq_client,
    reason_code: u8,
    properties: *const emq_property,
    count: usize,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    unsafe {
        request_call(client, core::ptr::null_mut(), |core| {
            // SAFETY: valid per the contract.
            let properties = CProperties::new(properties, count, PropertyContext::Auth)?;
            // [MQTT-4.12.1-1]: the method of CONNECT, no other.
            let given = properties
                .properties()
                .get(PropertyId::AuthenticationMethod);
            let options = core.connect.options(&core.sup);
            let announced = options.properties.get(PropertyId::AuthenticationMethod);
            if announced.is_some() && given != announced {
                return Err(EMQ_ERR_INVALID_PROPERTY);
            }
            let reason = crate::codec::v5::ReasonCode(reason_code);
            core.sup
                .client_mut()
                .auth(reason, properties.properties())?;
            Ok(0)
        })
    }
}

/// `emq_client_disconnect` with an MQTT 5 reason code (0x00 normal; 0x04
/// asks the broker to publish the will; another a client may send, e.g.
/// 0x80) and `properties` (Session Expiry Interval, which may not be set
/// when CONNECT's was 0; Reason String; User Properties). A reason a
/// client may not send is EMQ_ERR_INVALID_ARGUMENT and a bad property
/// EMQ_ERR_INVALID_PROPERTY: the connection stays as it was.
///
/// # Safety
/// `client` must be a live handle; `properties` as for
/// `emq_client_publish_v5`.
#[cfg(feature = "mqtt5")]
#[no_mangle]
pub unsafe extern "C" fn emq_client_disconnect_v5(
    client: *mut emq_client,
    reason_code: u8,
    properties: *const emq_property,
    count: usize,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    // Arguments first: refused ones leave the client as it was, even while
    // a connection is still opening.
    use crate::codec::v5::{ReasonCode, ReasonPacket, Sender};
    let reason = ReasonCode(reason_code);
    if !reason.allowed_in(ReasonPacket::Disconnect, Sender::Client) {
        return EMQ_ERR_INVALID_ARGUMENT;
    }
    // SAFETY: valid per the contract.
    let properties =
        match unsafe { CProperties::new(properties, count, PropertyContext::Disconnect) } {
            Ok(properties) => properties,
            Err(err) => return err,
        };
    disconnect_with(c, |core, kept| {
        let sent = core
            .sup
            .disconnect_v5(reason, properties.properties())
            .map_err(emq_err::from);
        // Refused by the session (a Session Expiry after a CONNECT that set
        // 0, too large for the server): still connected, no on_disconnect.
        *kept = sent.is_err() && core.sup.client().is_connected();
        sent
    })
}
