//! `import "x"` (relative to the importing script's folder) and `import "udpsh/NAME"`
//! (a module built into the binary, over [`crate::protocols`], one file each here).
//! [`call_closure`] gives a closure run on another thread the modules its script imported.

mod ask;
mod coap;
mod coap_map;
mod coap_transfer;
mod dns;
mod ntp;
mod radius;
mod sip;
mod snmp;
mod stun;
mod syslog;
mod tftp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::module_resolvers::ModuleResolver;
use rhai::{
    AST, Dynamic, Engine, EvalAltResult, FnPtr, Map, Module, NativeCallContext, Position, Scope,
    Shared, Stmt,
};

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error};

pub const BUILT_IN: &[&str] = &[
    "dns", "ntp", "tftp", "coap", "stun", "syslog", "radius", "snmp", "sip",
];

/// Resolves imports for one script: `udpsh/NAME` built in (its functions talk through the
/// script's sockets, so they hold its context), other paths from its folder.
pub struct Resolver {
    ctx: Arc<ScriptCtx>,
    dir: PathBuf,
}

impl Resolver {
    pub fn new(ctx: &Arc<ScriptCtx>) -> Resolver {
        Resolver {
            ctx: ctx.clone(),
            dir: ctx.dir.clone(),
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
            return built_in(name, &self.ctx).map(Shared::new).ok_or_else(|| {
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
        let file = module_file(&base, path);
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|e| {
            let mut err = script_error(
                ErrorKind::File,
                format!("cannot import '{path}' ({shown}): {e}"),
            );
            err.set_position(pos);
            err
        })?;
        let mut ast = super::source::compile(engine, &text, &shown).map_err(|d| {
            let mut err = super::diagnose::nested(&d, &text, "in module");
            err.set_position(pos);
            err
        })?;
        ast.set_source(shown);
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| EvalAltResult::ErrorInModule(path.into(), e, pos))?;
        Ok(Shared::new(module))
    }
}

/// The file `import "path"` names from a script in `dir`: `.rhai` added when it has no
/// extension.
pub fn module_file(dir: &Path, path: &str) -> PathBuf {
    let mut file = dir.join(path);
    if file.extension().is_none() {
        file.set_extension("rhai");
    }
    file
}

/// Calls a closure with the modules its script imported at the top, as `f.call` would.
pub fn call_closure(
    engine: &Engine,
    ast: &AST,
    ctx: &Arc<ScriptCtx>,
    f: &FnPtr,
) -> Fallible<Dynamic> {
    let global = closure_state(engine, ast, ctx)?;
    let nc =
        NativeCallContext::new_with_all_fields(engine, f.fn_name(), None, &global, Position::NONE);
    f.call_raw(&nc, None, [])
}

/// What a closure of `ast` is called with outside its script's run: the script's functions
/// and the modules it imported at the top. Made once, it serves every call.
pub fn closure_state(
    engine: &Engine,
    ast: &AST,
    ctx: &Arc<ScriptCtx>,
) -> Fallible<rhai::GlobalRuntimeState> {
    let resolver = Resolver::new(ctx);
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
    Ok(global)
}

/// Rhai 1.27 gives an error from a module's native function no position: this gives it
/// the call's, so it names the line like every other error.
fn at<T>(nc: &NativeCallContext, result: Fallible<T>) -> Fallible<T> {
    result.map_err(|mut e| {
        if e.position().is_none() {
            e.set_position(nc.call_position());
        }
        e
    })
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

fn built_in(name: &str, ctx: &Arc<ScriptCtx>) -> Option<Module> {
    let mut m = Module::new();
    match name {
        "dns" => dns::register(&mut m, ctx),
        "ntp" => ntp::register(&mut m, ctx),
        "stun" => stun::register(&mut m, ctx),
        "coap" => coap::register(&mut m, ctx),
        "tftp" => tftp::register(&mut m, ctx),
        "syslog" => syslog::register(&mut m),
        "radius" => radius::register(&mut m, ctx),
        "snmp" => snmp::register(&mut m, ctx),
        "sip" => sip::register(&mut m, ctx),
        _ => return None,
    }
    m.build_index();
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::docs::{ENTRIES, Kind};

    /// `:help dns` and the README's tables come from api::docs: each built-in function is
    /// there as a function of its module, and each entry there is a function of it.
    #[test]
    fn every_module_function_is_in_the_api_table() {
        let ctx = crate::api::idle_context();
        for module in BUILT_IN {
            let m = built_in(module, &ctx).unwrap();
            let defined: Vec<String> = m
                .gen_fn_signatures_with_mapper(Into::into)
                .map(|s| s.split('(').next().unwrap_or_default().to_string())
                .collect();
            assert!(!defined.is_empty(), "{module}");
            for name in &defined {
                assert!(
                    ENTRIES
                        .iter()
                        .any(|e| e.name == name && e.kind == Kind::Module(module)),
                    "{module}::{name} is not in api::docs"
                );
            }
            for e in ENTRIES.iter().filter(|e| e.kind == Kind::Module(module)) {
                assert!(
                    defined.iter().any(|n| n == e.name),
                    "api::docs has {module}::{}, the module has not",
                    e.name
                );
                assert!(
                    e.signature.starts_with(&format!("{module}::{}(", e.name)),
                    "{}",
                    e.signature
                );
            }
        }
    }
}
