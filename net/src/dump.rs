//! Kernel dumps read straight off a blocking NETLINK_ROUTE socket, one
//! message at a time out of one reused buffer: nothing is parsed, copied or
//! queued before the caller asks for it (rtnetlink's connection parses every
//! message of a dump into owned attribute vectors and queues them all, which
//! cost most of `inject status`'s time and memory at 100 000 routes).
//!
//! The kernel builds a dump's next batch (at most 32 KiB) while we read the
//! last one, so a blocking read never waits for anything but the kernel's
//! own work.

use std::io;

use rtnetlink::packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR,
    NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// The kernel sends a dump in batches of at most 32 KiB
/// (`SKB_WITH_OVERHEAD(32768)` in `netlink_recvmsg`); twice that leaves room.
const RECV_BUFFER: usize = 64 * 1024;

/// `struct nlmsghdr`: length, type, flags, sequence, port.
const NETLINK_HEADER: usize = 16;

/// One socket, one dump at a time (the kernel answers a second concurrent
/// dump on one socket with EBUSY).
pub(crate) struct Netlink {
    socket: Socket,
    buf: Vec<u8>,
    /// Where the next unread message of `buf` starts.
    pos: usize,
    seq: u32,
    /// The running dump reached NLMSG_DONE (or none was started).
    done: bool,
    /// The kernel marked a message of the running dump `NLM_F_DUMP_INTR`:
    /// the table changed while it was read, so the dump may miss entries
    /// or hold some twice.
    interrupted: bool,
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Netlink {
            socket,
            buf: Vec::with_capacity(RECV_BUFFER),
            pos: 0,
            seq: 0,
            done: true,
            interrupted: false,
        })
    }

    /// Start a dump of `request` (`GetLink`, `GetAddress`, `GetRoute`);
    /// read its messages with [`Netlink::next`].
    pub(crate) fn request(&mut self, request: RouteNetlinkMessage) -> io::Result<()> {
        self.send(request, NLM_F_DUMP)
    }

    /// Send `request` (`NewNeighbour`, …) with `flags` besides
    /// `NLM_F_REQUEST | NLM_F_ACK` and wait for the kernel's answer.
    pub(crate) fn command(&mut self, request: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.send(request, NLM_F_ACK | flags)?;
        while self.next()?.is_some() {}
        Ok(())
    }

    /// Whether the kernel marked the dump read last (or being read) as
    /// interrupted ([`NLM_F_DUMP_INTR`]).
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupted
    }

    fn send(&mut self, request: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        self.seq += 1;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(request));
        msg.finalize();
        let mut bytes = vec![0; msg.buffer_len()];
        msg.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;
        self.buf.clear();
        self.pos = 0;
        self.done = false;
        self.interrupted = false;
        Ok(())
    }

    /// The dump's next message as (type, payload); `None` once it is done.
    pub(crate) fn next(&mut self) -> io::Result<Option<(u16, &[u8])>> {
        let (kind, payload) = loop {
            if self.done {
                return Ok(None);
            }
            if self.pos >= self.buf.len() {
                self.receive()?;
            }
            let msg = NetlinkBuffer::new_checked(&self.buf[self.pos..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = msg.length() as usize;
            let (kind, seq) = (msg.message_type(), msg.sequence_number());
            let payload = self.pos + NETLINK_HEADER..self.pos + len;
            // Messages are 4-byte aligned within a batch.
            self.pos += (len + 3) & !3;
            if seq != self.seq {
                continue; // a late answer to an earlier request
            }
            if msg.flags() & NLM_F_DUMP_INTR != 0 {
                self.interrupted = true;
            }
            match kind {
                NLMSG_DONE | NLMSG_ERROR => {
                    self.done = true;
                    // Both carry an errno (negative, or 0 for none) first.
                    let code = self.buf[payload]
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code < 0 {
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    return Ok(None);
                }
                // NLMSG_NOOP, NLMSG_OVERRUN: nothing to hand on.
                kind if kind < 0x10 => continue,
                _ => break (kind, payload),
            }
        };
        Ok(Some((kind, &self.buf[payload])))
    }

    /// The kernel's next batch into the (emptied) buffer.
    fn receive(&mut self) -> io::Result<()> {
        loop {
            self.buf.clear();
            self.pos = 0;
            self.buf.reserve(RECV_BUFFER);
            match self.socket.recv(&mut self.buf, 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(_) if self.buf.is_empty() => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the kernel ended the dump without NLMSG_DONE",
                    ))
                }
                Ok(_) => return Ok(()),
            }
        }
    }
}
