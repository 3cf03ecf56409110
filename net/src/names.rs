//! Interface names that are not UTF-8.
//!
//! The kernel takes any bytes but `/`, `:`, whitespace and NUL as a name
//! (`ip link add $'a\x9bb' …`), and its alias and address labels likewise.
//! netlink-packet-route parses those attributes as Rust strings, so one
//! such name failed the whole interface dump ("invalid IFLA_IFNAME") and
//! blinded `inject status`, its JSON, `--watch` and the dashboard.
//!
//! Before a link or address message is parsed, each such attribute is
//! rewritten to its [`name_text`]: the UTF-8 parts as they are, every other
//! byte as `\xHH` (`a\x9bb`), the form `printf` takes back
//! (`ip link show "$(printf 'a\x9bb')"`). `ip` itself prints the raw byte,
//! which a terminal may take for the start of an escape sequence (0x9b is
//! the one-byte CSI); the escaped text is also what the JSON carries. Valid
//! UTF-8 with control characters stays as it is here and is escaped where
//! it is printed ([`super::text::escape_controls`]).

use std::fmt::Write as _;
use std::io;

use rtnetlink::packet_core::{NetlinkDeserializable, NetlinkMessage, NetlinkSerializable};
use rtnetlink::proto::{NetlinkCodec, NetlinkMessageCodec};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
/// `struct ifinfomsg` and `struct ifaddrmsg`: what comes before the attributes.
const IFINFOMSG: usize = 16;
const IFADDRMSG: usize = 8;
const IFLA_IFNAME: u16 = 3;
const IFLA_IFALIAS: u16 = 20;
const IFLA_PROP_LIST: u16 = 52;
const IFLA_ALT_IFNAME: u16 = 53;
const IFA_LABEL: u16 = 3;
/// The type bits of an attribute's type field (without NESTED/BYTEORDER).
const NLA_TYPE_MASK: u16 = 0x3fff;
const NETLINK_HEADER: usize = 16;

/// A name's bytes as text: UTF-8 kept, every other byte as `\xHH`; the
/// bytes end at the first NUL (the C string's end).
pub fn name_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut s = String::with_capacity(end + 8);
    for chunk in bytes[..end].utf8_chunks() {
        s.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
}

/// `payload` (an rtnetlink message of type `kind`, after the netlink
/// header) with every name attribute that is not UTF-8 replaced by its
/// [`name_text`]; `None` when nothing needed it (the usual case: no copy).
pub(crate) fn utf8_names(kind: u16, payload: &[u8]) -> Option<Vec<u8>> {
    let (fixed, strings, nested): (usize, &[u16], &[u16]) = match kind {
        RTM_NEWLINK | RTM_DELLINK => (IFINFOMSG, &[IFLA_IFNAME, IFLA_IFALIAS], &[IFLA_PROP_LIST]),
        RTM_NEWADDR | RTM_DELADDR => (IFADDRMSG, &[IFA_LABEL], &[]),
        _ => return None,
    };
    let attributes = payload.get(fixed..)?;
    let rewritten = rewrite(attributes, strings, nested)?;
    let mut out = payload[..fixed].to_vec();
    out.extend(rewritten);
    Some(out)
}

/// The attributes in `buf` with the string ones (`strings`) made UTF-8,
/// looking one level into `nested` ones (the alternative names sit inside
/// `IFLA_PROP_LIST`); `None` when none changed.
fn rewrite(buf: &[u8], strings: &[u16], nested: &[u16]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(buf.len() + 16);
    let mut changed = false;
    let mut at = 0;
    while at + 4 <= buf.len() {
        let len = usize::from(u16::from_ne_bytes([buf[at], buf[at + 1]]));
        let kind = u16::from_ne_bytes([buf[at + 2], buf[at + 3]]);
        if len < 4 || at + len > buf.len() {
            break; // malformed: left as it is, for the parser to report
        }
        let value = &buf[at + 4..at + len];
        let end = (at + ((len + 3) & !3)).min(buf.len());
        let replacement = match kind & NLA_TYPE_MASK {
            k if strings.contains(&k) && std::str::from_utf8(value).is_err() => {
                let mut text = name_text(value).into_bytes();
                text.push(0);
                Some(text)
            }
            k if nested.contains(&k) => rewrite(value, &[IFLA_ALT_IFNAME], &[]),
            _ => None,
        };
        match replacement.filter(|v| v.len() + 4 <= usize::from(u16::MAX)) {
            Some(value) => {
                changed = true;
                let len = u16::try_from(value.len() + 4).unwrap_or(u16::MAX);
                out.extend(len.to_ne_bytes());
                out.extend(kind.to_ne_bytes());
                out.extend(&value);
                out.resize((out.len() + 3) & !3, 0);
            }
            None => out.extend(&buf[at..end]),
        }
        at = end;
    }
    out.extend(&buf[at..]);
    changed.then_some(out)
}

/// netlink-proto's codec with [`utf8_names`] applied to each message
/// first: its own drops a message it cannot parse, so `--watch` would
/// never hear of such an interface or its IPv4 addresses.
pub(crate) struct Utf8NamesCodec;

impl NetlinkMessageCodec for Utf8NamesCodec {
    fn decode<T>(src: &mut bytes::BytesMut) -> io::Result<Option<NetlinkMessage<T>>>
    where
        T: NetlinkDeserializable + std::fmt::Debug,
    {
        loop {
            let Some(len) = src
                .get(..4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize)
            else {
                return NetlinkCodec::decode(src);
            };
            if len < NETLINK_HEADER || len > src.len() {
                return NetlinkCodec::decode(src);
            }
            let kind = u16::from_ne_bytes([src[4], src[5]]);
            let Some(payload) = utf8_names(kind, &src[NETLINK_HEADER..len]) else {
                return NetlinkCodec::decode(src);
            };
            let header = src.split_to(len);
            let total = NETLINK_HEADER + payload.len();
            let mut message = bytes::BytesMut::with_capacity(total);
            message.extend_from_slice(&(total as u32).to_ne_bytes());
            message.extend_from_slice(&header[4..NETLINK_HEADER]);
            message.extend_from_slice(&payload);
            // One message in, at most one out; a message that still does
            // not parse is dropped (as the standard codec does) and the
            // next one in `src` is tried, since `None` would end the batch.
            if let Some(parsed) = NetlinkCodec::decode(&mut message)? {
                return Ok(Some(parsed));
            }
        }
    }

    fn encode<T>(msg: NetlinkMessage<T>, buf: &mut bytes::BytesMut) -> io::Result<()>
    where
        T: NetlinkSerializable + std::fmt::Debug,
    {
        NetlinkCodec::encode(msg, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_utf8_are_written_as_hex_escapes() {
        assert_eq!(name_text(b"a\x9bb\0"), "a\\x9bb");
        assert_eq!(name_text(b"eth0\0"), "eth0");
        assert_eq!(name_text("é\u{1b}".as_bytes()), "é\u{1b}");
    }

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = u16::try_from(value.len() + 4)
            .unwrap()
            .to_ne_bytes()
            .to_vec();
        v.extend(kind.to_ne_bytes());
        v.extend(value);
        v.resize((v.len() + 3) & !3, 0);
        v
    }

    #[test]
    fn a_link_message_gets_its_name_escaped_and_keeps_its_other_attributes() {
        let mut payload = vec![0u8; IFINFOMSG];
        payload.extend(attr(IFLA_IFNAME, b"a\x9bb\0"));
        payload.extend(attr(4, &1500u32.to_ne_bytes()));
        let mut alt = attr(IFLA_ALT_IFNAME, b"\xff\0");
        alt = attr(IFLA_PROP_LIST | 0x8000, &alt);
        payload.extend(&alt);
        let fixed = utf8_names(RTM_NEWLINK, &payload).unwrap();
        let mut want = vec![0u8; IFINFOMSG];
        want.extend(attr(IFLA_IFNAME, b"a\\x9bb\0"));
        want.extend(attr(4, &1500u32.to_ne_bytes()));
        want.extend(attr(
            IFLA_PROP_LIST | 0x8000,
            &attr(IFLA_ALT_IFNAME, b"\\xff\0"),
        ));
        assert_eq!(fixed, want);
    }

    #[test]
    fn utf8_names_and_other_messages_are_not_copied() {
        let mut payload = vec![0u8; IFINFOMSG];
        payload.extend(attr(IFLA_IFNAME, b"eth0\0"));
        assert_eq!(utf8_names(RTM_NEWLINK, &payload), None);
        let mut addr = vec![0u8; IFADDRMSG];
        addr.extend(attr(IFA_LABEL, b"a\x9bb\0"));
        assert!(utf8_names(RTM_NEWADDR, &addr).is_some());
        assert_eq!(utf8_names(24, &addr), None, "a route message is left alone");
    }
}
