//! `import "x"` (relative to the importing script's folder) and `import "udpsh/NAME"`
//! (a module built into the binary: dns, ntp, tftp, coap, stun, over [`crate::protocols`]).
//! [`call_closure`] gives a closure run on another thread the modules its script imported.

use std::path::{Path, PathBuf};

use rhai::module_resolvers::ModuleResolver;
use rhai::{
    AST, Blob, Dynamic, Engine, EvalAltResult, FnPtr, FuncRegistration, Map, Module,
    NativeCallContext, Position, Scope, Shared, Stmt,
};

use super::error::{ErrorKind, Fallible, script_error};
use super::exchange::{Options, exchange, now};
use crate::protocols::{self, coap, dns, ntp, stun, tftp};

pub const BUILT_IN: &[&str] = &["dns", "ntp", "tftp", "coap", "stun"];

/// Resolves imports for one script: `udpsh/NAME` built in, other paths from its folder.
pub struct Resolver {
    dir: PathBuf,
}

impl Resolver {
    pub fn new(dir: &Path) -> Resolver {
        Resolver {
            dir: dir.to_path_buf(),
        }
    }
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if let Some(name) = path.strip_prefix("udpsh/") {
            return built_in(name).map(Shared::new).ok_or_else(|| {
                script_error(
                    ErrorKind::File,
                    format!(
                        "there is no built-in module '{path}' (there are udpsh/{})",
                        BUILT_IN.join(", udpsh/")
                    ),
                )
            });
        }
        let base = source
            .map(Path::new)
            .and_then(Path::parent)
            .filter(|p| p.is_absolute() || p.exists())
            .map_or_else(|| self.dir.clone(), Path::to_path_buf);
        let mut file = base.join(path);
        if file.extension().is_none() {
            file.set_extension("rhai");
        }
        let text = std::fs::read_to_string(&file).map_err(|e| {
            script_error(
                ErrorKind::File,
                format!("cannot import '{path}' ({}): {e}", file.display()),
            )
        })?;
        let mut ast = super::prepared(&text, |t| engine.compile(t))
            .map_err(|e| EvalAltResult::ErrorInModule(path.into(), e.into(), pos))?;
        ast.set_source(file.display().to_string());
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| EvalAltResult::ErrorInModule(path.into(), e, pos))?;
        Ok(Shared::new(module))
    }
}

/// Calls a closure with the modules its script imported at the top, as `f.call` would.
pub fn call_closure(engine: &Engine, ast: &AST, dir: &Path, f: &FnPtr) -> Fallible<Dynamic> {
    let resolver = Resolver::new(dir);
    let mut global = engine.new_global_runtime_state();
    global.lib.push(ast.shared_lib().clone());
    for stmt in ast.statements() {
        if let Stmt::Import(x, pos) = stmt
            && let Some(path) = x.0.get_literal_value(None)
            && let Ok(path) = path.into_immutable_string()
            && !x.1.name.is_empty()
        {
            let module = resolver.resolve(engine, ast.source(), &path, *pos)?;
            global.push_import(x.1.name.clone(), module);
        }
    }
    let ctx =
        NativeCallContext::new_with_all_fields(engine, f.fn_name(), None, &global, Position::NONE);
    f.call_raw(&ctx, None, [])
}

fn value_error(message: String) -> Box<EvalAltResult> {
    script_error(ErrorKind::Value, message)
}

fn text_list(items: &[&str]) -> Dynamic {
    Dynamic::from_array(items.iter().map(|s| Dynamic::from(s.to_string())).collect())
}

fn map(pairs: Vec<(&str, Dynamic)>) -> Map {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

fn built_in(name: &str) -> Option<Module> {
    let mut m = Module::new();
    match name {
        "dns" => dns_module(&mut m),
        "ntp" => ntp_module(&mut m),
        "stun" => stun_module(&mut m),
        "coap" => coap_module(&mut m),
        "tftp" => tftp_module(&mut m),
        _ => return None,
    }
    m.build_index();
    Some(m)
}

// ---- udpsh/dns ----

fn dns_record(r: &dns::Record) -> Dynamic {
    map(vec![
        ("name", r.name.clone().into()),
        ("type", r.rtype.clone().into()),
        ("class", r.class.clone().into()),
        ("ttl", i64::from(r.ttl).into()),
        ("data", r.data.clone().into()),
    ])
    .into()
}

fn dns_parse(b: &[u8]) -> Fallible<Map> {
    let m = dns::parse(b).map_err(|e| value_error(format!("dns::parse: {e}")))?;
    let records = |rs: &[dns::Record]| Dynamic::from_array(rs.iter().map(dns_record).collect());
    Ok(map(vec![
        ("id", i64::from(m.id).into()),
        ("rcode", m.rcode.into()),
        ("flags", text_list(&m.flags)),
        (
            "questions",
            Dynamic::from_array(
                m.questions
                    .iter()
                    .map(|q| {
                        map(vec![
                            ("name", q.name.clone().into()),
                            ("type", q.qtype.clone().into()),
                            ("class", q.class.clone().into()),
                        ])
                        .into()
                    })
                    .collect(),
            ),
        ),
        ("answers", records(&m.answers)),
        ("authority", records(&m.authority)),
        ("additional", records(&m.additional)),
    ]))
}

fn dns_query(name: &str, qtype: &str) -> Fallible<(u16, Blob)> {
    let id = protocols::random_u64() as u16;
    let q = dns::query(id, name, qtype).map_err(|e| value_error(format!("dns::query: {e}")))?;
    Ok((id, q))
}

fn dns_ask(
    nc: &NativeCallContext,
    sock: &Dynamic,
    server: &str,
    name: &str,
    qtype: &str,
    opts: &Map,
) -> Fallible<Map> {
    let opts = Options::from_map(opts, "dns::ask")?;
    let (id, q) = dns_query(name, qtype)?;
    let want = id.to_be_bytes();
    let reply = exchange(nc, sock, &q, server, &opts, &|d, _| {
        d.len() >= 12 && d[..2] == want
    })?;
    let mut m = dns_parse(&reply.data)?;
    m.insert("rtt".into(), (reply.received - reply.sent).into());
    m.insert("tries".into(), i64::from(reply.tries).into());
    Ok(m)
}

fn dns_module(m: &mut Module) {
    FuncRegistration::new("query").set_into_module(m, |name: &str, qtype: &str| {
        dns_query(name, qtype).map(|(_, q)| q)
    });
    FuncRegistration::new("query")
        .set_into_module(m, |name: &str| dns_query(name, "A").map(|(_, q)| q));
    FuncRegistration::new("parse").set_into_module(m, |b: Blob| dns_parse(&b));
    FuncRegistration::new("ask").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, name: &str, qtype: &str| {
            dns_ask(&nc, &s, server, name, qtype, &Map::new())
        },
    );
    FuncRegistration::new("ask").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, name: &str, qtype: &str, opts: Map| {
            dns_ask(&nc, &s, server, name, qtype, &opts)
        },
    );
}

// ---- udpsh/ntp ----

fn ntp_map(p: &ntp::Packet) -> Map {
    map(vec![
        ("leap", i64::from(p.leap).into()),
        ("version", i64::from(p.version).into()),
        ("mode", i64::from(p.mode).into()),
        ("stratum", i64::from(p.stratum).into()),
        ("poll", i64::from(p.poll).into()),
        ("precision", i64::from(p.precision).into()),
        ("root_delay", p.root_delay.into()),
        ("root_dispersion", p.root_dispersion.into()),
        ("ref_id", p.ref_id.clone().into()),
        ("reference", p.reference.into()),
        ("origin", p.origin.into()),
        ("receive", p.receive.into()),
        ("transmit", p.transmit.into()),
    ])
}

fn ntp_ask(nc: &NativeCallContext, sock: &Dynamic, server: &str, opts: &Map) -> Fallible<Map> {
    let opts = Options::from_map(opts, "ntp::ask")?;
    let t1 = now();
    let req = ntp::request(t1);
    let stamp = ntp::to_ntp(t1);
    let reply = exchange(nc, sock, &req, server, &opts, &|d, _| {
        ntp::parse(d).is_ok_and(|p| p.origin_raw == stamp && p.mode == 4)
    })?;
    let p = ntp::parse(&reply.data).map_err(|e| value_error(format!("ntp::ask: {e}")))?;
    // t1 is the (last) send, t4 the receive as this process saw it.
    let (offset, delay) = ntp::offset_delay(reply.sent, p.receive, p.transmit, reply.received);
    let mut m = ntp_map(&p);
    m.insert("offset".into(), offset.into());
    m.insert("delay".into(), delay.into());
    Ok(m)
}

fn ntp_module(m: &mut Module) {
    FuncRegistration::new("request").set_into_module(m, || -> Blob { ntp::request(now()) });
    FuncRegistration::new("parse").set_into_module(m, |b: Blob| {
        ntp::parse(&b)
            .map(|p| ntp_map(&p))
            .map_err(|e| value_error(format!("ntp::parse: {e}")))
    });
    FuncRegistration::new("ask")
        .set_into_module(m, |nc: NativeCallContext, s: Dynamic, server: &str| {
            ntp_ask(&nc, &s, server, &Map::new())
        });
    FuncRegistration::new("ask").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, opts: Map| {
            ntp_ask(&nc, &s, server, &opts)
        },
    );
}

// ---- udpsh/stun ----

fn stun_map(msg: &stun::Message) -> Map {
    let opt = |v: &Option<String>| v.clone().map_or(Dynamic::UNIT, Dynamic::from);
    map(vec![
        ("type", msg.kind.clone().into()),
        ("transaction", Dynamic::from_blob(msg.transaction.to_vec())),
        ("mapped", opt(&msg.mapped)),
        ("software", opt(&msg.software)),
        ("error", opt(&msg.error)),
    ])
}

fn stun_ask(nc: &NativeCallContext, sock: &Dynamic, server: &str, opts: &Map) -> Fallible<Map> {
    let opts = Options::from_map(opts, "stun::ask")?;
    let t = protocols::random_u64().to_be_bytes();
    let u = protocols::random_u64().to_be_bytes();
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&t);
    id[8..].copy_from_slice(&u[..4]);
    let req = stun::binding(id);
    let reply = exchange(nc, sock, &req, server, &opts, &|d, _| {
        d.len() >= 20 && d[8..20] == id
    })?;
    let msg = stun::parse(&reply.data).map_err(|e| value_error(format!("stun::ask: {e}")))?;
    Ok(stun_map(&msg))
}

fn stun_module(m: &mut Module) {
    FuncRegistration::new("binding").set_into_module(m, || -> Blob {
        let mut id = [0u8; 12];
        id[..8].copy_from_slice(&protocols::random_u64().to_be_bytes());
        id[8..].copy_from_slice(&protocols::random_u64().to_be_bytes()[..4]);
        stun::binding(id)
    });
    FuncRegistration::new("parse").set_into_module(m, |b: Blob| {
        stun::parse(&b)
            .map(|msg| stun_map(&msg))
            .map_err(|e| value_error(format!("stun::parse: {e}")))
    });
    FuncRegistration::new("ask")
        .set_into_module(m, |nc: NativeCallContext, s: Dynamic, server: &str| {
            stun_ask(&nc, &s, server, &Map::new())
        });
    FuncRegistration::new("ask").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, opts: Map| {
            stun_ask(&nc, &s, server, &opts)
        },
    );
}

// ---- udpsh/coap ----

fn coap_map(msg: &coap::Message) -> Map {
    let mut options = Map::new();
    for (name, value) in &msg.options {
        let v: Dynamic = match value {
            coap::OptionValue::Int(i) => i64::try_from(*i).unwrap_or(i64::MAX).into(),
            coap::OptionValue::Text(t) => t.clone().into(),
            coap::OptionValue::Bytes(b) => Dynamic::from_blob(b.clone()),
        };
        match options.get_mut(name.as_str()) {
            Some(existing) if existing.is_array() => {
                if let Some(mut a) = existing.write_lock::<rhai::Array>() {
                    a.push(v);
                }
            }
            Some(existing) => {
                let first = existing.clone();
                *existing = Dynamic::from_array(vec![first, v]);
            }
            None => {
                options.insert(name.as_str().into(), v);
            }
        }
    }
    map(vec![
        ("version", i64::from(msg.version).into()),
        ("type", msg.mtype.clone().into()),
        ("code", msg.code.clone().into()),
        ("mid", i64::from(msg.mid).into()),
        ("token", Dynamic::from_blob(msg.token.clone())),
        ("options", options.into()),
        ("payload", Dynamic::from_blob(msg.payload.clone())),
    ])
}

fn coap_request(method: &str, path: &str, payload: &[u8]) -> Fallible<(u16, Vec<u8>, Blob)> {
    let r = protocols::random_u64();
    let mid = r as u16;
    let token = (r >> 16).to_be_bytes()[..4].to_vec();
    let b = coap::request(method, path, mid, &token, payload)
        .map_err(|e| value_error(format!("coap: {e}")))?;
    Ok((mid, token, b))
}

fn coap_ask(
    nc: &NativeCallContext,
    sock: &Dynamic,
    server: &str,
    method: &str,
    path: &str,
    payload: &Dynamic,
    opts: &Map,
) -> Fallible<Map> {
    let opts = Options::from_map(opts, "coap::ask")?;
    let body = if payload.is_unit() {
        Vec::new()
    } else {
        super::values::with_payload(payload, |b| Ok(b.to_vec()))?
    };
    let (mid, token, req) = coap_request(method, path, &body)?;
    let reply = exchange(nc, sock, &req, server, &opts, &|d, _| {
        coap::parse(d).is_ok_and(|m| m.mid == mid || m.token == token)
    })?;
    let msg = coap::parse(&reply.data).map_err(|e| value_error(format!("coap::ask: {e}")))?;
    Ok(coap_map(&msg))
}

fn coap_module(m: &mut Module) {
    FuncRegistration::new("get").set_into_module(m, |path: &str| {
        coap_request("GET", path, &[]).map(|(_, _, b)| b)
    });
    FuncRegistration::new("request").set_into_module(m, |method: &str, path: &str| {
        coap_request(method, path, &[]).map(|(_, _, b)| b)
    });
    FuncRegistration::new("request").set_into_module(
        m,
        |method: &str, path: &str, payload: Dynamic| {
            let body = super::values::with_payload(&payload, |b| Ok(b.to_vec()))?;
            coap_request(method, path, &body).map(|(_, _, b)| b)
        },
    );
    FuncRegistration::new("parse").set_into_module(m, |b: Blob| {
        coap::parse(&b)
            .map(|msg| coap_map(&msg))
            .map_err(|e| value_error(format!("coap::parse: {e}")))
    });
    FuncRegistration::new("ask").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, method: &str, path: &str| {
            coap_ask(&nc, &s, server, method, path, &Dynamic::UNIT, &Map::new())
        },
    );
    FuncRegistration::new("ask").set_into_module(
        m,
        |nc: NativeCallContext,
         s: Dynamic,
         server: &str,
         method: &str,
         path: &str,
         payload: Dynamic| {
            coap_ask(&nc, &s, server, method, path, &payload, &Map::new())
        },
    );
    FuncRegistration::new("ask").set_into_module(
        m,
        |nc: NativeCallContext,
         s: Dynamic,
         server: &str,
         method: &str,
         path: &str,
         payload: Dynamic,
         opts: Map| { coap_ask(&nc, &s, server, method, path, &payload, &opts) },
    );
}

// ---- udpsh/tftp ----

fn tftp_error(code: u16, message: &str) -> Box<EvalAltResult> {
    script_error(
        ErrorKind::Tftp,
        format!("TFTP error {code} from the server: {message}"),
    )
}

/// Waits for the packet `want` takes from the transfer's peer; answers ERRORs with an error.
fn tftp_step(
    nc: &NativeCallContext,
    sock: &Dynamic,
    send: &Blob,
    to: &str,
    peer: &Option<String>,
    opts: &Options,
    want: &dyn Fn(&tftp::Packet) -> bool,
) -> Fallible<(tftp::Packet, String)> {
    let reply = exchange(nc, sock, send, to, opts, &|d, from| {
        peer.as_ref().is_none_or(|p| p == from)
            && tftp::parse(d).is_ok_and(|p| matches!(p, tftp::Packet::Error { .. }) || want(&p))
    })?;
    match tftp::parse(&reply.data).map_err(|e| script_error(ErrorKind::Tftp, e))? {
        tftp::Packet::Error { code, message } => Err(tftp_error(code, &message)),
        p => Ok((p, reply.from)),
    }
}

fn tftp_get(
    nc: &NativeCallContext,
    sock: &Dynamic,
    server: &str,
    file: &str,
    opts: &Map,
) -> Fallible<Blob> {
    let opts = Options::from_map(opts, "tftp::get")?;
    let mut send = tftp::read_request(file).map_err(value_error)?;
    let mut to = server.to_string();
    let mut peer: Option<String> = None;
    let mut out = Vec::new();
    let mut block: u16 = 1;
    loop {
        let (p, from) = tftp_step(
            nc,
            sock,
            &send,
            &to,
            &peer,
            &opts,
            &|p| matches!(p, tftp::Packet::Data { block: b, .. } if *b == block),
        )?;
        let tftp::Packet::Data { data, .. } = p else {
            return Err(script_error(ErrorKind::Tftp, "expected a DATA packet"));
        };
        // The server answers from a port of its own for the transfer: follow it.
        peer.get_or_insert_with(|| from.clone());
        to = from;
        out.extend_from_slice(&data);
        send = tftp::ack(block);
        if data.len() < tftp::BLOCK {
            let _: i64 = nc.call_fn("sendto", (sock.clone(), send, to))?;
            return Ok(out);
        }
        block = block.wrapping_add(1);
    }
}

fn tftp_put(
    nc: &NativeCallContext,
    sock: &Dynamic,
    server: &str,
    file: &str,
    data: &[u8],
    opts: &Map,
) -> Fallible<i64> {
    let opts = Options::from_map(opts, "tftp::put")?;
    let mut send = tftp::write_request(file).map_err(value_error)?;
    let mut to = server.to_string();
    let mut peer: Option<String> = None;
    let mut block: u16 = 0;
    let mut chunks = data.chunks(tftp::BLOCK).chain(
        // A file of a whole number of blocks ends with an empty one.
        (data.len().is_multiple_of(tftp::BLOCK)).then_some(&[][..]),
    );
    loop {
        let (_, from) = tftp_step(
            nc,
            sock,
            &send,
            &to,
            &peer,
            &opts,
            &|p| matches!(p, tftp::Packet::Ack { block: b } if *b == block),
        )?;
        peer.get_or_insert_with(|| from.clone());
        to = from;
        let Some(chunk) = chunks.next() else {
            return Ok(data.len() as i64);
        };
        block = block.wrapping_add(1);
        send = tftp::data(block, chunk);
    }
}

fn tftp_module(m: &mut Module) {
    FuncRegistration::new("get").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, file: &str| {
            tftp_get(&nc, &s, server, file, &Map::new())
        },
    );
    FuncRegistration::new("get").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, file: &str, opts: Map| {
            tftp_get(&nc, &s, server, file, &opts)
        },
    );
    FuncRegistration::new("put").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, file: &str, data: Dynamic| {
            super::values::with_payload(&data, |b| tftp_put(&nc, &s, server, file, b, &Map::new()))
        },
    );
    FuncRegistration::new("put").set_into_module(
        m,
        |nc: NativeCallContext, s: Dynamic, server: &str, file: &str, data: Dynamic, opts: Map| {
            super::values::with_payload(&data, |b| tftp_put(&nc, &s, server, file, b, &opts))
        },
    );
}
