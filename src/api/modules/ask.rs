//! What every module's `ask` shares: the socket of the script, the options it passes on to
//! `s.request` (`#{timeout, retries}`), and the one code path of `request` (recording, `-v`,
//! ICMP `refused`, the timeout's message), with the module's own match as its `accept`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rhai::{Dynamic, ImmutableString, Map, NativeCallContext};
use socket2::SockAddr;

use super::super::context::ScriptCtx;
use super::super::datagram::Datagram;
use super::super::error::{ErrorKind, Fallible, is_kind, script_error};
use super::super::request::{Accept, RequestOptions};
use super::super::socket::{Sock, line_of};
use super::super::values;
use crate::net;

/// The options an `ask` takes; `request` gives them their defaults and checks them.
const ASK_KEYS: &[&str] = &["timeout", "retries"];

/// One call of a module function that talks to a server.
pub struct Ask<'a> {
    ctx: &'a ScriptCtx,
    nc: &'a NativeCallContext<'a>,
    sock: Sock,
    timeout: Option<Duration>,
    retries: u32,
}

impl<'a> Ask<'a> {
    /// `what` names the function in errors: `dns::ask`.
    pub fn new(
        ctx: &'a ScriptCtx,
        nc: &'a NativeCallContext<'a>,
        sock: &Dynamic,
        what: &str,
        opts: &Map,
    ) -> Fallible<Ask<'a>> {
        Ask::with_own_keys(ctx, nc, sock, what, opts, &[])
    }

    /// As `new`, for an `ask` whose options map also holds keys of its module's own
    /// (`own`, e.g. RADIUS's `code`): those are the module's to read.
    pub fn with_own_keys(
        ctx: &'a ScriptCtx,
        nc: &'a NativeCallContext<'a>,
        sock: &Dynamic,
        what: &str,
        opts: &Map,
        own: &[&str],
    ) -> Fallible<Ask<'a>> {
        let sock = sock.clone().try_cast::<Sock>().ok_or_else(|| {
            script_error(
                ErrorKind::Value,
                format!(
                    "{what}: the first argument is a socket (udp()), not {}",
                    nc.engine().map_type_name(sock.type_name())
                ),
            )
        })?;
        values::check_keys(opts, what, &[ASK_KEYS, own].concat())?;
        let mut opts = opts.clone();
        opts.retain(|k, _| !own.contains(&k.as_str()));
        let parsed = RequestOptions::from_map(&sock, &opts)?;
        Ok(Ask {
            ctx,
            nc,
            sock,
            timeout: parsed.timeout,
            retries: parsed.retries,
        })
    }

    /// A server's address from the script's text, as `sendto` reads it.
    pub fn address(&self, server: &str) -> Fallible<SockAddr> {
        self.sock.destination(&ImmutableString::from(server))
    }

    /// `s.request(data, to, #{timeout, retries, accept})` with `accept` the module's match.
    pub fn request(
        &self,
        data: &[u8],
        to: &SockAddr,
        accept: impl Fn(&Datagram) -> bool + 'static,
    ) -> Fallible<Datagram> {
        let opts = RequestOptions {
            timeout: self.timeout,
            retries: self.retries,
            accept: Some(Accept::Native(Box::new(accept))),
        };
        self.sock.request(self.ctx, self.nc, data, to, &opts)
    }

    /// The address a server sees this socket's datagrams come from (for SIP's Via): the
    /// socket is bound first if it was not, and an any-address is replaced by the address
    /// the kernel routes from toward `to`.
    pub fn local_toward(&self, to: &SockAddr) -> Fallible<SocketAddr> {
        self.sock.prepare_send(to)?;
        let local = self
            .sock
            .local_addr()
            .ok_or_else(|| script_error(ErrorKind::Network, "the socket has no local address"))?;
        let Some(peer) = to.as_socket().map(crate::net::canonical) else {
            return Ok(local);
        };
        let port = local.port();
        if !local.ip().is_unspecified() && local.is_ipv4() == peer.is_ipv4() {
            return Ok(local);
        }
        // Connecting a UDP socket sends nothing: it only asks the kernel for the route.
        let any: SocketAddr = if peer.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let ip = std::net::UdpSocket::bind(any)
            .and_then(|probe| {
                probe.connect(peer)?;
                probe.local_addr()
            })
            .map_or(any.ip(), |a| a.ip());
        Ok(SocketAddr::new(ip, port))
    }

    /// The next datagram `accept` takes, without sending (a CoAP notification), within
    /// the whole budget of the ask: its timeout times its tries. Others are passed over.
    pub fn receive(&self, what: &str, accept: impl Fn(&Datagram) -> bool) -> Fallible<Datagram> {
        let budget = self
            .timeout
            .map(|t| t.saturating_mul(self.retries.saturating_add(1)));
        let end = budget.and_then(|b| Instant::now().checked_add(b));
        loop {
            let left = end.map(|e| e.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(script_error(
                    ErrorKind::Timeout,
                    format!("{what} did not come within {}", net::secs(budget)),
                ));
            }
            let d = self.sock.receive_within(
                self.ctx,
                line_of(self.nc),
                net::MAX_IPV6_PAYLOAD,
                "recvfrom",
                left,
            );
            match d {
                Ok(d) if accept(&d) => return Ok(d),
                Ok(_) => {}
                Err(e) if is_kind(&e, ErrorKind::Timeout) => {
                    return Err(script_error(
                        ErrorKind::Timeout,
                        format!("{what} did not come within {}", net::secs(budget)),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A datagram that needs no answer (TFTP's last ACK), sent as `sendto` sends it.
    pub fn send(&self, data: &[u8], to: &SockAddr) -> Fallible<()> {
        self.sock
            .send(self.ctx, line_of(self.nc), data, to)
            .map(|_| ())
    }
}

/// The reply's `rtt` and `tries`, added to the map a module parsed from it.
pub fn timed(mut m: Map, reply: &Datagram) -> Map {
    let or_unit = |v: Option<Dynamic>| v.unwrap_or(Dynamic::UNIT);
    m.insert("rtt".into(), or_unit(reply.rtt.map(Dynamic::from)));
    m.insert(
        "tries".into(),
        or_unit(reply.tries.map(|t| Dynamic::from(i64::from(t)))),
    );
    m
}
