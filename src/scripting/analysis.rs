//! What a script reads: the `record` and `seller` fields it touches, found by walking its
//! compiled AST. The schema check uses the reads to refuse undeclared attributes and
//! comparisons with literals of the wrong type; the pipeline uses them to memoise a
//! seller condition on the record fields it reads.
//!
//! The analysis must never under-report: a memo keyed on too few fields would give wrong
//! answers. A use of `record` it cannot name (passed to a function, indexed by a computed
//! value, assigned, used as a whole value, a method called on it, a variable shadowing
//! it) makes the record *dynamic*, and no memo is possible.
//!
//! Chains (`a.b[c].d()`) are interpreted the way rhai's evaluator interprets them
//! (`eval/chaining.rs`): in an `Index` node without `BREAK`, a `Dot`/`Index` right-hand
//! side carries this step's index value in its `lhs` and the rest of the chain in its
//! `rhs`; in a `Dot` node, a `Dot`/`Index` right-hand side carries this step's property or
//! method in its `lhs`. So `seller[record].x` uses `record` as an index value (dynamic),
//! not as the root of `record.x`.
//!
//! Size: one walk over rhai's statement and expression kinds (~650 lines) with its tests
//! beside it; split, the cases of one `match` would live apart.

use std::collections::BTreeSet;

use rhai::{AST, ASTFlags, Dynamic, Expr, FnCallExpr, ImmutableString, Position, Stmt};

use super::engine::{Script, ScriptPurpose};
use super::error::{ScriptError, ScriptErrorKind};
use crate::domain::config::{AttributeType, RecordTypeSchema};

/// Seller fields whose values change with every assignment: a memo that reads them must
/// be dropped when the counters move.
pub const SELLER_COUNTERS: [&str; 2] = ["open_records", "available_capacity"];

/// Functions whose answer can change while their arguments do not.
const NONDETERMINISTIC_FNS: [&str; 1] = ["timestamp"];

const COMPARISONS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

/// What a script reads, with positions for error messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptReads {
    /// Fields of `record` read by name: `record.x`, `record["x"]`, `record?.x`.
    pub record_fields: BTreeSet<String>,
    /// `record` is used other than by reading a named field, so its whole value may
    /// matter to the answer.
    pub record_dynamic: bool,
    /// Top-level fields of `seller` read by name (`id`, `name`, `attributes`,
    /// `open_records`, `available_capacity`).
    pub seller_fields: BTreeSet<String>,
    /// `seller` is used other than by reading a named field.
    pub seller_dynamic: bool,
    /// Reads `seller.open_records` or `seller.available_capacity`, or uses `seller`
    /// dynamically (which may read them).
    pub reads_counters: bool,
    /// Calls something whose answer can change while no input changes (`timestamp()`),
    /// or a function pointer whose name is computed at run time.
    pub nondeterministic: bool,
    /// Every named read of `record`, in the order met, with the position of the field name.
    pub record_reads: Vec<FieldRead>,
    /// Comparisons of a named `record` field with a literal (`record.revenue > 5`).
    pub comparisons: Vec<LiteralComparison>,
}

impl ScriptReads {
    /// The record fields a seller condition's answer depends on, when it depends on
    /// nothing else of the record and on nothing that changes by itself; `None` means the
    /// condition cannot be memoised on record fields.
    pub fn memo_fields(&self) -> Option<&BTreeSet<String>> {
        (!self.record_dynamic && !self.nondeterministic).then_some(&self.record_fields)
    }
}

/// One named read of a record field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRead {
    pub field: String,
    /// Where the field's name is written.
    pub position: Position,
}

/// A literal's type, as far as comparisons with attributes are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralType {
    String,
    Char,
    Integer,
    Float,
    Bool,
}

impl LiteralType {
    fn describe(self) -> &'static str {
        match self {
            LiteralType::String => "a string",
            LiteralType::Char => "a character",
            LiteralType::Integer | LiteralType::Float => "a number",
            LiteralType::Bool => "a bool",
        }
    }
}

/// `record.<field> <op> <literal>` or `<literal> <op> record.<field>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralComparison {
    pub field: String,
    pub op: String,
    pub literal: LiteralType,
    /// The literal as written in rhai (`"big"`, `5`, `true`).
    pub literal_text: String,
    /// The operator's position.
    pub position: Position,
}

/// Walks `script`'s AST, including the bodies of functions it defines.
///
/// Which names denote the record and the seller: at the top level, the variables the
/// script's purpose puts in scope (`record`, and `seller` for seller conditions). A rhai
/// function sees only its parameters, unless it is called as `f!(...)`, which runs it in
/// the caller's scope. So in a function body the record is the first parameter of
/// `distribute(record, candidates)`, and anything named `record` (a parameter, by
/// convention, or the caller's `record` reached through `f!()`); likewise `seller` in
/// seller conditions. A call that passes the record on, or runs in the caller's scope,
/// has already made the record dynamic, so this only adds field names, never removes any.
pub fn analyse(script: &Script) -> ScriptReads {
    analyse_ast(&script.ast, script.purpose)
}

fn analyse_ast(ast: &AST, purpose: ScriptPurpose) -> ScriptReads {
    let mut walker = Walker::default();

    let top_record: Vec<ImmutableString> = purpose
        .variables()
        .iter()
        .filter(|v| **v == "record")
        .map(|v| (*v).into())
        .collect();
    let top_seller: Vec<ImmutableString> = if purpose == ScriptPurpose::SellerCondition {
        vec!["seller".into()]
    } else {
        Vec::new()
    };
    walker.record_names = top_record;
    walker.seller_names = top_seller;
    let main = ast.statements();
    for stmt in main {
        walker.stmt(stmt);
    }

    // Function bodies are reachable only through `AST::walk` (their payload type is not
    // exported), which hands out each body's top-level statements after the main body's.
    // Each is attributed to the innermost function whose body encloses its position
    // (closures nest inside other bodies; named functions do not nest).
    let functions: Vec<FnScope> = ast
        .iter_fn_def()
        .map(|f| {
            let is_distribute = purpose == ScriptPurpose::Distribution && f.name == "distribute" && f.params.len() == 2;
            let record_names = f
                .params
                .iter()
                .enumerate()
                .filter(|(i, p)| is_distribute && *i == 0 && p.as_str() != "record")
                .map(|(_, p)| p.clone())
                .chain(std::iter::once("record".into()))
                .collect();
            FnScope {
                start: f.body.start_position(),
                end: f.body.end_position(),
                record_names,
            }
        })
        .collect();
    let fn_seller: Vec<ImmutableString> = if purpose == ScriptPurpose::SellerCondition {
        vec!["seller".into()]
    } else {
        Vec::new()
    };
    // Statements that cannot be placed treat every record-like name as the record.
    let all_record_names: Vec<ImmutableString> = functions
        .iter()
        .flat_map(|f| f.record_names.iter().cloned())
        .chain(std::iter::once("record".into()))
        .collect();
    let mut top_level_seen = 0usize;
    ast.walk(&mut |path| {
        if path.len() != 1 {
            return true;
        }
        top_level_seen += 1;
        if top_level_seen <= main.len() {
            return true;
        }
        let rhai::ASTNode::Stmt(stmt) = &path[0] else {
            return true;
        };
        let pos = stmt.position();
        // Bodies nest properly, so the innermost enclosing one starts last.
        let owner = functions
            .iter()
            .filter(|f| !pos.is_none() && f.start <= pos && pos <= f.end)
            .max_by_key(|f| f.start);
        walker.record_names = match owner {
            Some(f) => f.record_names.clone(),
            None => all_record_names.clone(),
        };
        walker.seller_names = fn_seller.clone();
        walker.stmt(stmt);
        true
    });

    walker.reads
}

struct FnScope {
    start: Position,
    end: Position,
    record_names: Vec<ImmutableString>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    Record,
    Seller,
}

#[derive(Default)]
struct Walker {
    reads: ScriptReads,
    record_names: Vec<ImmutableString>,
    seller_names: Vec<ImmutableString>,
}

impl Walker {
    fn root_of(&self, expr: &Expr) -> Option<Root> {
        let Expr::Variable(v, ..) = expr else { return None };
        // A namespaced `global::record` can only be a script constant, which shadowing
        // (a `const record` declaration) has already made dynamic.
        let name = &v.1;
        if self.record_names.contains(name) {
            Some(Root::Record)
        } else if self.seller_names.contains(name) {
            Some(Root::Seller)
        } else {
            None
        }
    }

    fn whole_use(&mut self, root: Root) {
        match root {
            Root::Record => self.reads.record_dynamic = true,
            Root::Seller => {
                self.reads.seller_dynamic = true;
                self.reads.reads_counters = true;
            }
        }
    }

    fn named(&mut self, root: Root, field: &str, position: Position) {
        match root {
            Root::Record => {
                self.reads.record_fields.insert(field.to_string());
                self.reads.record_reads.push(FieldRead {
                    field: field.to_string(),
                    position,
                });
            }
            Root::Seller => {
                self.reads.seller_fields.insert(field.to_string());
                if SELLER_COUNTERS.contains(&field) {
                    self.reads.reads_counters = true;
                }
            }
        }
    }

    /// A name introduced by `let`, `const`, `for` or `catch`: if it shadows the record or
    /// the seller, later reads may be of something else.
    fn declares(&mut self, name: &str) {
        if self.record_names.iter().any(|n| n == name) {
            self.whole_use(Root::Record);
        }
        if self.seller_names.iter().any(|n| n == name) {
            self.whole_use(Root::Seller);
        }
    }

    fn block(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Noop(..) => {}
            Stmt::If(x, ..) | Stmt::While(x, ..) | Stmt::Do(x, ..) | Stmt::TryCatch(x, ..) => {
                // For `try`, `expr` holds the catch variable (a declaration).
                if let (Stmt::TryCatch(..), Expr::Variable(v, ..)) = (stmt, &x.expr) {
                    self.declares(v.1.as_str());
                } else {
                    self.expr(&x.expr);
                }
                self.block(x.body.statements());
                self.block(x.branch.statements());
            }
            Stmt::Switch(x, ..) => {
                let (value, cases) = &**x;
                self.expr(value);
                for case in cases.expressions.iter() {
                    self.expr(&case.lhs);
                    self.expr(&case.rhs);
                }
            }
            Stmt::For(x, ..) => {
                let (var, counter, flow) = &**x;
                self.declares(var.name.as_str());
                if let Some(c) = counter {
                    self.declares(c.name.as_str());
                }
                self.expr(&flow.expr);
                self.block(flow.body.statements());
                self.block(flow.branch.statements());
            }
            Stmt::Var(x, ..) => {
                let (name, value, _) = &**x;
                self.expr(value);
                self.declares(name.name.as_str());
            }
            Stmt::Assignment(x) => {
                self.expr(&x.1.lhs);
                self.expr(&x.1.rhs);
            }
            Stmt::FnCall(f, pos) => self.fn_call(f, *pos),
            Stmt::Block(b) => self.block(b.statements()),
            Stmt::Expr(e) => self.expr(e),
            Stmt::BreakLoop(value, ..) | Stmt::Return(value, ..) => {
                if let Some(e) = value {
                    self.expr(e);
                }
            }
            Stmt::Import(x, ..) => self.expr(&x.0),
            Stmt::Export(..) => {}
            Stmt::Share(names) => {
                // A closure captures these variables; the capture itself passes them on.
                for (ident, _) in names.iter() {
                    if self.record_names.contains(&ident.name) {
                        self.whole_use(Root::Record);
                    }
                    if self.seller_names.contains(&ident.name) {
                        self.whole_use(Root::Seller);
                    }
                }
            }
            _ => self.unknown(),
        }
    }

    /// A node this analysis does not know (rhai's AST enums are non-exhaustive): assume
    /// it may use anything.
    fn unknown(&mut self) {
        self.whole_use(Root::Record);
        self.whole_use(Root::Seller);
        self.reads.nondeterministic = true;
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::DynamicConstant(value, ..) => self.constant(value),
            Expr::BoolConstant(..)
            | Expr::IntegerConstant(..)
            | Expr::FloatConstant(..)
            | Expr::CharConstant(..)
            | Expr::StringConstant(..)
            | Expr::Unit(..)
            | Expr::ThisPtr(..)
            | Expr::Property(..) => {}
            Expr::Variable(..) => {
                if let Some(root) = self.root_of(expr) {
                    self.whole_use(root);
                }
            }
            Expr::InterpolatedString(items, ..) | Expr::Array(items, ..) => {
                for e in items.iter() {
                    self.expr(e);
                }
            }
            Expr::Map(m, ..) => {
                for (_, e) in m.0.iter() {
                    self.expr(e);
                }
                for value in m.1.values() {
                    self.constant(value);
                }
            }
            Expr::And(items, ..) | Expr::Or(items, ..) | Expr::Coalesce(items, ..) => {
                for e in items.iter() {
                    self.expr(e);
                }
            }
            Expr::Stmt(b) => self.block(b.statements()),
            Expr::FnCall(f, pos) => self.fn_call(f, *pos),
            Expr::MethodCall(f, pos) => self.fn_call(f, *pos),
            Expr::Dot(x, ..) | Expr::Index(x, ..) => self.chain_root(expr, &x.lhs, &x.rhs),
            Expr::Custom(c, ..) => {
                for e in c.inputs.iter() {
                    self.expr(e);
                }
            }
            _ => self.unknown(),
        }
    }

    fn constant(&mut self, value: &Dynamic) {
        if let Some(f) = value.read_lock::<rhai::FnPtr>()
            && NONDETERMINISTIC_FNS.contains(&f.fn_name())
        {
            self.reads.nondeterministic = true;
        }
    }

    fn fn_call(&mut self, f: &FnCallExpr, pos: Position) {
        let name = f.name.as_str();
        if f.capture_parent_scope {
            // `f!(...)` runs `f` in this scope: it may read (or shadow) anything here.
            self.whole_use(Root::Record);
            if !self.seller_names.is_empty() {
                self.whole_use(Root::Seller);
            }
        }
        if NONDETERMINISTIC_FNS.contains(&name) {
            self.reads.nondeterministic = true;
        }
        // `Fn(name)` is the only way to reach a function by a name computed at run time
        // (`call` and `curry` take the function pointers it makes).
        if name == "Fn" && f.namespace.is_empty() {
            match f.args.first() {
                Some(Expr::StringConstant(s, ..)) if !NONDETERMINISTIC_FNS.contains(&s.as_str()) => {}
                _ => self.reads.nondeterministic = true,
            }
        }
        if f.args.len() == 2 && f.namespace.is_empty() && COMPARISONS.contains(&name) {
            self.comparison(name, &f.args[0], &f.args[1], pos);
        }
        for arg in f.args.iter() {
            self.expr(arg);
        }
    }

    fn comparison(&mut self, op: &str, a: &Expr, b: &Expr, pos: Position) {
        let (field, literal) = match (self.direct_record_read(a), self.direct_record_read(b)) {
            (Some(f), None) => (f, b),
            (None, Some(f)) => (f, a),
            _ => return,
        };
        let Some((literal, literal_text)) = literal_of(literal) else {
            return;
        };
        self.reads.comparisons.push(LiteralComparison {
            field,
            op: op.to_string(),
            literal,
            literal_text,
            position: pos,
        });
    }

    /// `record.x` or `record["x"]`, nothing more.
    fn direct_record_read(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Dot(x, ..) if self.root_of(&x.lhs) == Some(Root::Record) => match &x.rhs {
                Expr::Property(p, ..) => Some(p.2.to_string()),
                _ => None,
            },
            Expr::Index(x, ..) if self.root_of(&x.lhs) == Some(Root::Record) => match &x.rhs {
                Expr::StringConstant(s, ..) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    /// A chain `lhs . rhs` or `lhs [ rhs ]` met where an expression is expected.
    fn chain_root(&mut self, node: &Expr, lhs: &Expr, rhs: &Expr) {
        let Some(root) = self.root_of(lhs) else {
            self.expr(lhs);
            self.chain(node, rhs);
            return;
        };
        match node {
            Expr::Dot(..) => match rhs {
                Expr::Property(p, pos) => self.named(root, p.2.as_str(), *pos),
                Expr::Dot(y, ..) | Expr::Index(y, ..) if !breaks(node) => {
                    match &y.lhs {
                        Expr::Property(p, pos) => self.named(root, p.2.as_str(), *pos),
                        other => {
                            self.whole_use(root);
                            self.accessor(other);
                        }
                    }
                    self.chain(rhs, &y.rhs);
                }
                other => {
                    // A method called on the record itself (`record.keys()`).
                    self.whole_use(root);
                    self.accessor(other);
                }
            },
            _ => {
                let (index, rest) = match rhs {
                    Expr::Dot(y, ..) | Expr::Index(y, ..) if !breaks(node) => (&y.lhs, Some((rhs, &y.rhs))),
                    other => (other, None),
                };
                match index {
                    Expr::StringConstant(s, pos) => self.named(root, s.as_str(), *pos),
                    other => {
                        self.whole_use(root);
                        self.expr(other);
                    }
                }
                if let Some((next, next_rhs)) = rest {
                    self.chain(next, next_rhs);
                }
            }
        }
    }

    /// The rest of a chain below `parent`, whose right-hand side is `rhs`: index values
    /// and method arguments are expressions; properties read nothing new.
    fn chain(&mut self, parent: &Expr, rhs: &Expr) {
        let dotting = matches!(parent, Expr::Dot(..));
        match rhs {
            Expr::Dot(y, ..) | Expr::Index(y, ..) if !breaks(parent) => {
                if dotting {
                    self.accessor(&y.lhs);
                } else {
                    self.expr(&y.lhs);
                }
                self.chain(rhs, &y.rhs);
            }
            other if dotting => self.accessor(other),
            other => self.expr(other),
        }
    }

    /// One step after a `.`: a property or a method call.
    fn accessor(&mut self, e: &Expr) {
        match e {
            Expr::Property(..) => {}
            Expr::MethodCall(f, pos) => self.fn_call(f, *pos),
            other => self.expr(other),
        }
    }
}

fn breaks(node: &Expr) -> bool {
    node.options().intersects(ASTFlags::BREAK)
}

fn literal_of(e: &Expr) -> Option<(LiteralType, String)> {
    Some(match e {
        Expr::StringConstant(s, ..) => (LiteralType::String, format!("{:?}", s.as_str())),
        Expr::CharConstant(c, ..) => (LiteralType::Char, format!("'{c}'")),
        Expr::IntegerConstant(i, ..) => (LiteralType::Integer, i.to_string()),
        Expr::FloatConstant(f, ..) => (LiteralType::Float, f.to_string()),
        Expr::BoolConstant(b, ..) => (LiteralType::Bool, b.to_string()),
        _ => return None,
    })
}

/// The type scripts see for a built-in record field.
fn builtin_type(field: &str) -> Option<AttributeType> {
    match field {
        "age_hours" => Some(AttributeType::Number),
        f if RecordTypeSchema::BUILTIN_FIELDS.contains(&f) => Some(AttributeType::String),
        _ => None,
    }
}

fn type_name(t: AttributeType) -> &'static str {
    match t {
        AttributeType::String => "a string",
        AttributeType::Number => "a number",
        AttributeType::Bool => "a bool",
        AttributeType::Array => "an array",
        AttributeType::Object => "an object",
    }
}

fn compatible(t: AttributeType, literal: LiteralType) -> bool {
    matches!(
        (t, literal),
        (AttributeType::String, LiteralType::String | LiteralType::Char)
            | (AttributeType::Number, LiteralType::Integer | LiteralType::Float)
            | (AttributeType::Bool, LiteralType::Bool)
    )
}

/// Refuses a script that reads a record field that is neither built in nor declared by
/// `schema`, or compares a field with a literal of another type (rhai answers such a
/// comparison `false` without complaint). The first problem in source order is reported,
/// at its position, as a [`ScriptErrorKind::Schema`] error.
pub fn check_schema(script: &Script, record_type: &str, schema: &RecordTypeSchema) -> Result<(), ScriptError> {
    let reads = analyse(script);
    let mut problems: Vec<(Position, String)> = Vec::new();
    let declared = || {
        if schema.attributes.is_empty() {
            "none".to_string()
        } else {
            schema.attributes.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    for read in &reads.record_reads {
        if builtin_type(&read.field).is_none() && !schema.attributes.contains_key(&read.field) {
            problems.push((
                read.position,
                format!(
                    "record.{} is not an attribute of {record_type}; declared: {}",
                    read.field,
                    declared()
                ),
            ));
        }
    }
    for c in &reads.comparisons {
        let Some(t) = builtin_type(&c.field).or_else(|| schema.attributes.get(&c.field).copied()) else {
            continue; // already reported as undeclared
        };
        if compatible(t, c.literal) {
            continue;
        }
        let hint = match t {
            AttributeType::Array => format!("; to test membership write {} in record.{}", c.literal_text, c.field),
            _ => String::new(),
        };
        problems.push((
            c.position,
            format!(
                "record.{} is {} in the schema of {record_type} but is compared ({}) with {} ({}), \
                 which is always false{hint}",
                c.field,
                type_name(t),
                c.op,
                c.literal.describe(),
                c.literal_text,
            ),
        ));
    }
    match problems.into_iter().min_by_key(|(pos, _)| *pos) {
        None => Ok(()),
        Some((pos, message)) => Err(ScriptError::new(ScriptErrorKind::Schema, message).at(pos)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::scripting::Scripting;

    fn reads(purpose: ScriptPurpose, src: &str) -> ScriptReads {
        let script = Scripting::new()
            .compile(purpose, src)
            .unwrap_or_else(|e| panic!("{src:?} should compile: {e}"))
            .unwrap_or_else(|| panic!("{src:?} is not empty"));
        analyse(&script)
    }

    fn cond(src: &str) -> ScriptReads {
        reads(ScriptPurpose::RecordCondition, src)
    }

    fn seller(src: &str) -> ScriptReads {
        reads(ScriptPurpose::SellerCondition, src)
    }

    fn fields(r: &ScriptReads) -> Vec<&str> {
        r.record_fields.iter().map(String::as_str).collect()
    }

    #[test]
    fn dot_and_string_index_name_fields() {
        let r = cond(r#"record.country == "UK" && record["source"] == "web" && record?.vip"#);
        assert_eq!(fields(&r), ["country", "source", "vip"]);
        assert!(!r.record_dynamic);
        assert!(r.memo_fields().is_some());
    }

    #[test]
    fn keywords_read_with_brackets_are_fields() {
        let r = cond(r#"record["case"] == 1 || record["switch"] == 2"#);
        assert_eq!(fields(&r), ["case", "switch"]);
        assert!(!r.record_dynamic);
    }

    #[test]
    fn longer_chains_name_only_their_first_field() {
        let r = cond(r#"record.tags[0] == "a" && record.address.city == "Paris" && record["owner"].name.len() > 2"#);
        assert_eq!(fields(&r), ["address", "owner", "tags"]);
        assert!(!r.record_dynamic);
    }

    #[test]
    fn methods_on_a_field_are_not_dynamic_but_methods_on_the_record_are() {
        let r = cond(r#"record.country.contains("U")"#);
        assert_eq!(fields(&r), ["country"]);
        assert!(!r.record_dynamic);
        assert!(cond("record.keys().len() > 3").record_dynamic);
        assert!(cond(r#"record.contains("vip")"#).record_dynamic);
    }

    #[test]
    fn every_other_use_of_record_is_dynamic() {
        for src in [
            "let r = record; r.country == \"UK\"",
            "let k = \"country\"; record[k] == \"UK\"",
            "record[\"coun\" + seller.name] == 1",
            "\"vip\" in record",
            "fn f(x) { x.country == \"UK\" } f(record)",
            "type_of(record) == \"map\"",
            "record == #{}",
            "[record].len() == 1",
            "#{r: record}.r.country == \"UK\"",
            "let f = |x| record.country == x; f.call(\"UK\")",
            "let record = #{country: \"UK\"}; record.country == \"UK\"",
            "for record in [1, 2] { if record == 2 { return true; } } false",
            "seller[record.country] == 1 && seller[record] == 2",
            "`${record}`.len() > 0",
            "record ?? false",
            "let x = if record.country == \"UK\" { record } else { #{} }; x.country == \"UK\"",
        ] {
            let r = seller(src);
            assert!(r.record_dynamic, "{src:?} should make the record dynamic");
            assert!(r.memo_fields().is_none(), "{src:?} cannot be memoised");
        }
    }

    #[test]
    fn a_record_used_as_an_index_value_inside_a_chain_is_dynamic() {
        // Parsed as Index(seller, Dot(record, x)): `record` is the index value, then `.x`.
        let r = seller("seller[record].x == 1");
        assert!(r.record_dynamic);
        assert!(
            r.record_fields.is_empty(),
            "x is read from seller[record], not from record"
        );
        let r = seller(r#"seller.attributes[record["country"]] == 1"#);
        assert_eq!(fields(&r), ["country"]);
        assert!(!r.record_dynamic);
    }

    #[test]
    fn reads_inside_statements_and_nested_expressions_are_found() {
        let src = r#"
            let limit = if record.revenue > 1000 { 5 } else { 10 };
            let n = 0;
            for t in record.tags { if t == record["topic"] { n += 1; } }
            while n < 3 { n += 1; if record.vip { break; } }
            switch record.country { "UK" => n += 1, "FR" if record.age_hours > 2.0 => n += 2, _ => () }
            let m = #{a: record.industry, b: [record.language]};
            try { throw record.name } catch (e) { }
            do { n -= 1 } until n < record.score;
            n < limit && `${record.source}`.len() > 0
        "#;
        let r = cond(src);
        assert_eq!(
            fields(&r),
            [
                "age_hours",
                "country",
                "industry",
                "language",
                "name",
                "revenue",
                "score",
                "source",
                "tags",
                "topic",
                "vip"
            ]
        );
        assert!(!r.record_dynamic);
        assert!(!r.nondeterministic);
    }

    #[test]
    fn positions_point_at_the_field_name() {
        let r = cond("record.country == \"UK\" &&\n  record[\"source\"] == \"web\"");
        let at: Vec<(&str, Option<usize>, Option<usize>)> = r
            .record_reads
            .iter()
            .map(|x| (x.field.as_str(), x.position.line(), x.position.position()))
            .collect();
        assert_eq!(at, [("country", Some(1), Some(8)), ("source", Some(2), Some(10))]);
    }

    #[test]
    fn seller_fields_and_counters() {
        let r = seller("seller.attributes.language.contains(record.language)");
        assert_eq!(r.seller_fields.iter().collect::<Vec<_>>(), ["attributes"]);
        assert_eq!(fields(&r), ["language"]);
        assert!(!r.reads_counters);
        assert!(!r.seller_dynamic);
        assert!(seller("seller.open_records < 5").reads_counters);
        assert!(seller(r#"seller["available_capacity"] > 0"#).reads_counters);
        let r = seller("fn busy(s) { s.open_records > 3 } !busy(seller)");
        assert!(
            r.seller_dynamic && r.reads_counters,
            "a seller passed on may have its counters read"
        );
    }

    #[test]
    fn the_clock_makes_a_condition_nondeterministic() {
        assert!(cond("timestamp().elapsed > 1.0 || record.vip").nondeterministic);
        assert!(cond("let f = Fn(\"time\" + \"stamp\"); f.call() == 1").nondeterministic);
        let r = cond("record.vip");
        assert!(!r.nondeterministic);
        assert!(r.memo_fields().is_some());
        assert!(cond("timestamp(); record.vip").memo_fields().is_none());
    }

    #[test]
    fn functions_in_distribution_scripts_read_through_their_record_parameter() {
        let src = r#"
            fn score(record, c) { if record.product in c.attributes.skills { 1 } else { 0 } }
            fn distribute(lead, candidates) {
                let best = ();
                for c in candidates {
                    if lead.country == c.attributes.country && score(lead, c) > 0 { best = c.id; }
                }
                best
            }
        "#;
        let r = reads(ScriptPurpose::Distribution, src);
        assert_eq!(fields(&r), ["country", "product"]);
        assert!(r.record_dynamic, "passing the record to score() is a dynamic use");
    }

    #[test]
    fn a_helper_parameter_that_is_not_the_record_is_not_read_as_one() {
        let src = r#"
            fn weight(lead) { lead.attributes.weight }
            fn distribute(lead, candidates) {
                if lead.country == "UK" { candidates[0].id } else { () }
            }
        "#;
        let r = reads(ScriptPurpose::Distribution, src);
        assert_eq!(
            fields(&r),
            ["country"],
            "weight's `lead` is a candidate, not distribute's record"
        );
        assert!(!r.record_dynamic);
    }

    #[test]
    fn closures_inside_functions_are_attributed_to_their_own_parameters() {
        let src = r#"
            fn distribute(record, candidates) {
                let picked = candidates.filter(|c| c.attributes.country == "UK");
                if record.vip && picked.len() > 0 { picked[0].id } else { () }
            }
        "#;
        let r = reads(ScriptPurpose::Distribution, src);
        assert_eq!(fields(&r), ["vip"]);
        assert!(!r.record_dynamic);
    }

    #[test]
    fn a_function_run_in_the_callers_scope_makes_the_record_dynamic() {
        // `f!()` lets f read the caller's `record` without it being passed.
        let r = cond("fn f() { record.country == \"UK\" } f!()");
        assert!(r.record_dynamic);
        assert_eq!(
            fields(&r),
            ["country"],
            "the read inside f is still named for the schema check"
        );
        let r = seller("fn f() { seller.open_records < 3 } f!()");
        assert!(r.seller_dynamic && r.reads_counters);
    }

    #[test]
    fn literal_comparisons_are_collected_on_either_side() {
        let r =
            cond(r#"record.revenue == "big" || 5 < record.country || record["vip"] != true || record.score >= -1.5"#);
        let got: Vec<(&str, &str, LiteralType)> = r
            .comparisons
            .iter()
            .map(|c| (c.field.as_str(), c.op.as_str(), c.literal))
            .collect();
        assert_eq!(
            got,
            [
                ("revenue", "==", LiteralType::String),
                ("country", "<", LiteralType::Integer),
                ("vip", "!=", LiteralType::Bool),
                ("score", ">=", LiteralType::Float),
            ]
        );
    }

    fn lead_schema() -> RecordTypeSchema {
        let mut attributes = BTreeMap::new();
        attributes.insert("country".to_string(), AttributeType::String);
        attributes.insert("revenue".to_string(), AttributeType::Number);
        attributes.insert("source".to_string(), AttributeType::String);
        attributes.insert("tags".to_string(), AttributeType::Array);
        attributes.insert("vip".to_string(), AttributeType::Bool);
        RecordTypeSchema {
            attributes,
            strict: false,
        }
    }

    fn check(purpose: ScriptPurpose, src: &str) -> Result<(), ScriptError> {
        let s = Scripting::new();
        let script = s
            .compile(purpose, src)
            .unwrap_or_else(|e| panic!("{src:?} should compile: {e}"))
            .unwrap_or_else(|| panic!("{src:?} is not empty"));
        check_schema(&script, "lead", &lead_schema())
    }

    #[test]
    fn declared_and_builtin_fields_pass_the_schema() {
        let src = r#"record.country == "UK" && record.revenue > 10 && record.vip == true && record.age_hours < 48
            && record.id != "" && record.name.len() > 0 && "x" in record.tags && record["source"] == 'w'"#;
        check(ScriptPurpose::RecordCondition, src).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn an_undeclared_attribute_is_a_schema_error_at_its_position() {
        let e = check(
            ScriptPurpose::RecordCondition,
            "record.country == \"UK\" &&\n  record.contry == \"UK\"",
        )
        .expect_err("contry is not declared");
        assert_eq!(e.kind, ScriptErrorKind::Schema);
        assert_eq!(
            e.message,
            "record.contry is not an attribute of lead; declared: country, revenue, source, tags, vip"
        );
        assert_eq!((e.line, e.column), (Some(2), Some(10)));
        let e = check(
            ScriptPurpose::SellerCondition,
            r#"seller.attributes.x == record["regoin"]"#,
        )
        .expect_err("regoin is not declared");
        assert!(
            e.message.starts_with("record.regoin is not an attribute of lead"),
            "{}",
            e.message
        );
    }

    #[test]
    fn undeclared_reads_inside_distribution_functions_are_found() {
        let src =
            "fn distribute(record, candidates) {\n  if record.prodcut == \"x\" { candidates[0].id } else { () }\n}";
        let e = check(ScriptPurpose::Distribution, src).expect_err("prodcut is not declared");
        assert_eq!(e.kind, ScriptErrorKind::Schema);
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn comparing_with_a_literal_of_the_wrong_type_is_a_schema_error() {
        for (src, says) in [
            (r#"record.revenue == "big""#, "record.revenue is a number"),
            ("record.country > 5", "record.country is a string"),
            ("5.5 <= record.country", "record.country is a string"),
            (r#"record.vip != "yes""#, "record.vip is a bool"),
            (r#"record.tags == "a""#, "in record.tags"),
            (r#"record.age_hours > "old""#, "record.age_hours is a number"),
            ("record.id == 7", "record.id is a string"),
        ] {
            let e = check(ScriptPurpose::RecordCondition, src).expect_err(src);
            assert_eq!(e.kind, ScriptErrorKind::Schema, "{src}");
            assert!(e.message.contains(says), "{src}: {}", e.message);
            assert!(e.line.is_some(), "{src} has a position");
        }
    }

    #[test]
    fn the_first_problem_in_source_order_is_reported() {
        let e = check(
            ScriptPurpose::RecordCondition,
            "record.revenue == \"big\" ||\nrecord.nope == 1",
        )
        .expect_err("two problems");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("revenue"), "{}", e.message);
    }

    #[test]
    fn dynamic_reads_cannot_be_checked_and_pass() {
        check(ScriptPurpose::RecordCondition, "let k = \"anything\"; record[k] == 1").unwrap_or_else(|e| panic!("{e}"));
    }
}
