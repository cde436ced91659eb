//! What a compiled script may not reach by a name: `eval` and `import` are disabled as
//! keywords, but a function pointer named `eval` (`Fn("eval")`, then `call`, `curry` or
//! `.call(...)`) would still run its argument as a script at run time. So a script is
//! refused when saved if it makes a function pointer to `eval` or `import`, or one from
//! a name computed at run time (which could spell either), with the position of the `Fn`.

use rhai::{AST, ASTNode, Expr, Position};

use super::error::{ScriptError, ScriptErrorKind};

const FORBIDDEN: [&str; 2] = ["eval", "import"];

/// The first way `ast` (its main body and every function it defines) reaches `eval` or
/// `import` by a name.
pub fn check(ast: &AST) -> Result<(), ScriptError> {
    let mut found: Option<(String, Position)> = None;
    ast.walk(&mut |path| {
        let Some(ASTNode::Expr(expr)) = path.last() else {
            return true;
        };
        if let Some(hit) = forbidden_in(expr) {
            found = Some(hit);
            return false;
        }
        true
    });
    match found {
        Some((message, pos)) => Err(ScriptError::new(ScriptErrorKind::Forbidden, message).at(pos)),
        None => Ok(()),
    }
}

fn forbidden_in(expr: &Expr) -> Option<(String, Position)> {
    match expr {
        // `Fn("literal")` is folded into a function-pointer constant when compiled.
        Expr::DynamicConstant(value, pos) => {
            let f = value.read_lock::<rhai::FnPtr>()?;
            FORBIDDEN
                .contains(&f.fn_name())
                .then(|| (not_allowed(f.fn_name()), *pos))
        }
        Expr::FnCall(f, pos) if f.name == "Fn" && f.namespace.is_empty() => match f.args.first() {
            Some(Expr::StringConstant(s, ..)) => FORBIDDEN.contains(&s.as_str()).then(|| (not_allowed(s), *pos)),
            _ => Some((
                "Fn takes a literal function name in allot scripts (a computed name could reach 'eval')".to_string(),
                *pos,
            )),
        },
        _ => None,
    }
}

fn not_allowed(name: &str) -> String {
    format!("'{name}' is not allowed in allot scripts, not even by name (Fn(\"{name}\"))")
}
