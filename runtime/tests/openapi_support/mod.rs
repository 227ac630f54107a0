//! Compares a contract OpenAPI document with the one a server serves: every path
//! and method, parameter, request body and response of the contract must be in the
//! served document, with compatible schemas (properties, required fields, types,
//! enums, bounds), in the direction that matters (a request the contract allows
//! must be accepted; a response the server may send must satisfy the contract).
//! Every mismatch is collected, so one run reports them all.

#![allow(dead_code)]

use serde_json::{Map, Value};

/// Which way a body travels: what is checked differs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    Request,
    Response,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every way `served` falls short of `contract`, one line each.
pub fn mismatches(contract: &Value, served: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let cx = Cmp {
        contract,
        served,
        out: &mut out,
    };
    cx.document();
    out
}

struct Cmp<'a> {
    contract: &'a Value,
    served: &'a Value,
    out: &'a mut Vec<String>,
}

/// Follows `$ref`s (local ones) to the schema they name.
fn resolve<'v>(doc: &'v Value, mut schema: &'v Value) -> &'v Value {
    for _ in 0..32 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return schema;
        };
        match doc.pointer(pointer) {
            Some(target) => schema = target,
            None => return &Value::Null,
        }
    }
    schema
}

/// The JSON types a schema allows (`None`: any), with `null` when nullable.
fn types(doc: &Value, schema: &Value) -> Option<Vec<String>> {
    let schema = resolve(doc, schema);
    let mut found: Vec<String> = Vec::new();
    let mut any = false;
    for alt in alternatives(doc, schema) {
        match alt.get("type") {
            Some(Value::String(t)) => found.push(t.clone()),
            Some(Value::Array(ts)) => {
                found.extend(ts.iter().filter_map(Value::as_str).map(str::to_owned))
            }
            _ if alt.get("properties").is_some() => found.push("object".into()),
            _ if alt.get("items").is_some() => found.push("array".into()),
            _ if alt.get("enum").is_some() => found.push("string".into()),
            _ => any = true,
        }
        if alt.get("nullable") == Some(&Value::Bool(true)) {
            found.push("null".into());
        }
    }
    if any {
        return None;
    }
    found.sort();
    found.dedup();
    Some(found)
}

/// The schemas a value may match: `oneOf`/`anyOf` alternatives (flattened, refs
/// followed), a single-schema `allOf`, or the schema itself.
fn alternatives<'v>(doc: &'v Value, schema: &'v Value) -> Vec<&'v Value> {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = schema.get(key) {
            // `anyOf` of bare `required` lists (the contract's LLMRequest) constrains
            // the object, it does not replace it.
            if alts.iter().all(|a| {
                a.get("required").is_some() && a.get("type").is_none() && a.get("$ref").is_none()
            }) {
                continue;
            }
            return alts.iter().flat_map(|a| alternatives(doc, a)).collect();
        }
    }
    if let Some(Value::Array(all)) = schema.get("allOf")
        && all.len() == 1
    {
        return alternatives(doc, &all[0]);
    }
    vec![schema]
}

fn accepts(types: &[String], t: &str) -> bool {
    types.iter().any(|x| x == t) || (t == "integer" && types.iter().any(|x| x == "number"))
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn object(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

impl Cmp<'_> {
    fn miss(&mut self, at: &str, what: impl std::fmt::Display) {
        self.out.push(format!("{at}: {what}"));
    }

    fn document(mut self) {
        let Some(paths) = object(self.contract.get("paths")) else {
            self.miss("contract", "has no paths");
            return;
        };
        for (path, item) in paths {
            let served_item = self.served.get("paths").and_then(|p| p.get(path));
            for method in METHODS {
                let Some(op) = item.get(method) else {
                    continue;
                };
                let at = format!("{} {path}", method.to_uppercase());
                match served_item.and_then(|i| i.get(method)) {
                    None => self.miss(&at, "operation missing from the served document"),
                    Some(served_op) => self.operation(&at, op, served_op),
                }
            }
        }
        self.component_names();
    }

    /// Generated clients name types after the components: the contract's names stay.
    fn component_names(&mut self) {
        let names: Vec<String> = object(self.contract.pointer("/components/schemas"))
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for name in names {
            if self
                .served
                .pointer(&format!("/components/schemas/{name}"))
                .is_none()
            {
                self.miss(
                    &format!("schema {name}"),
                    "no served component of that name",
                );
            }
        }
    }

    fn operation(&mut self, at: &str, c: &Value, s: &Value) {
        self.parameters(at, c, s);
        self.request_body(at, c, s);
        let empty = Map::new();
        let responses = object(c.get("responses")).unwrap_or(&empty);
        for (status, response) in responses {
            let at = format!("{at} response {status}");
            let Some(served) = s.get("responses").and_then(|r| r.get(status)) else {
                self.miss(&at, "status not documented by the server");
                continue;
            };
            let response = resolve(self.contract, response);
            let served = resolve(self.served, served);
            for (media, content) in object(response.get("content")).unwrap_or(&empty) {
                let at = format!("{at} {media}");
                match served.get("content").and_then(|c| c.get(media)) {
                    None => self.miss(&at, "content type not served"),
                    Some(sc) => {
                        self.schema(&at, content.get("schema"), sc.get("schema"), Dir::Response)
                    }
                }
            }
        }
    }

    fn parameters(&mut self, at: &str, c: &Value, s: &Value) {
        let params = |doc: &Value, op: &Value| -> Vec<Value> {
            op.get("parameters")
                .and_then(Value::as_array)
                .map(|ps| ps.iter().map(|p| resolve(doc, p).clone()).collect())
                .unwrap_or_default()
        };
        let (cps, sps) = (params(self.contract, c), params(self.served, s));
        let key = |p: &Value| {
            (
                p["name"].as_str().unwrap_or("").to_owned(),
                p["in"].as_str().unwrap_or("").to_owned(),
            )
        };
        for cp in &cps {
            let (name, place) = key(cp);
            let at = format!("{at} parameter {name} (in {place})");
            let Some(sp) = sps
                .iter()
                .find(|sp| key(sp) == (name.clone(), place.clone()))
            else {
                self.miss(&at, "missing from the served document");
                continue;
            };
            let required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
            if required(sp) && !required(cp) {
                self.miss(&at, "required by the server, optional in the contract");
            }
            self.schema(&at, cp.get("schema"), sp.get("schema"), Dir::Request);
        }
        for sp in &sps {
            let (name, place) = key(sp);
            let required = sp.get("required") == Some(&Value::Bool(true));
            if required
                && !cps
                    .iter()
                    .any(|cp| key(cp) == (name.clone(), place.clone()))
            {
                self.miss(
                    &format!("{at} parameter {name} (in {place})"),
                    "required by the server, absent from the contract",
                );
            }
        }
    }

    fn request_body(&mut self, at: &str, c: &Value, s: &Value) {
        let Some(cb) = c.get("requestBody").map(|b| resolve(self.contract, b)) else {
            return;
        };
        let at = format!("{at} request body");
        let Some(sb) = s.get("requestBody").map(|b| resolve(self.served, b)) else {
            self.miss(&at, "missing from the served document");
            return;
        };
        let empty = Map::new();
        for (media, content) in object(cb.get("content")).unwrap_or(&empty) {
            let at = format!("{at} {media}");
            match sb.get("content").and_then(|c| c.get(media)) {
                None => self.miss(&at, "content type not accepted"),
                Some(sc) => self.schema(&at, content.get("schema"), sc.get("schema"), Dir::Request),
            }
        }
    }

    /// `c` (contract) against `s` (served) at `at`.
    fn schema(&mut self, at: &str, c: Option<&Value>, s: Option<&Value>, dir: Dir) {
        let (Some(c), Some(s)) = (c, s) else {
            if c.is_some() {
                self.miss(at, "schema missing from the served document");
            }
            return;
        };
        let (contract, served) = (self.contract, self.served);
        // OpenAPI 3.0's `nullable` beside a `$ref` (the contract's `usage`).
        let c_nullable = c.get("nullable") == Some(&Value::Bool(true));
        let c = resolve(contract, c);
        let s = resolve(served, s);
        let (Some(mut ct), Some(st)) = (types(contract, c), types(served, s)) else {
            // One side allows any value: nothing more to compare.
            return;
        };
        if c_nullable && !ct.iter().any(|t| t == "null") {
            ct.push("null".into());
        }
        let incompatible = match dir {
            Dir::Request => ct
                .iter()
                .filter(|t| !accepts(&st, t))
                .cloned()
                .collect::<Vec<_>>(),
            Dir::Response => st
                .iter()
                .filter(|t| !accepts(&ct, t))
                .cloned()
                .collect::<Vec<_>>(),
        };
        if !incompatible.is_empty() {
            let what = match dir {
                Dir::Request => "the contract allows",
                Dir::Response => "the server may answer",
            };
            self.miss(at, format!("type {incompatible:?} that {what} is not compatible (contract {ct:?}, served {st:?})"));
            return;
        }
        if c.get("format").and_then(Value::as_str) == Some("binary") {
            let binary = alternatives(served, s).iter().any(|a| {
                a.get("format").and_then(Value::as_str) == Some("binary")
                    || a.get("contentMediaType").is_some()
            });
            if !binary {
                self.miss(
                    at,
                    "the contract's binary string is not binary in the served document",
                );
            }
        }
        self.enums(at, c, s, dir);
        self.bounds(at, c, s, dir);
        if let (Some(cd), Some(sd)) = (c.get("default"), served_field(served, s, "default"))
            && cd != sd
            && !(cd.is_number() && sd.is_number() && cd.as_f64() == sd.as_f64())
        {
            self.miss(at, format!("default {sd} differs from the contract's {cd}"));
        }
        if ct.iter().any(|t| t == "array") {
            let items = alternatives(served, s)
                .into_iter()
                .find_map(|a| a.get("items"));
            if c.get("items").is_some() {
                self.schema(&format!("{at}[]"), c.get("items"), items, dir);
            }
        }
        if ct.iter().any(|t| t == "object") {
            self.object(at, c, s, dir);
        }
    }

    fn enums(&mut self, at: &str, c: &Value, s: &Value, dir: Dir) {
        let served_enum: Option<Vec<Value>> = alternatives(self.served, s)
            .iter()
            .map(|a| a.get("enum").and_then(Value::as_array).cloned())
            .collect::<Option<Vec<_>>>()
            .map(|all| all.concat());
        let contract_enum = c.get("enum").and_then(Value::as_array);
        match dir {
            Dir::Request => {
                if let (Some(ce), Some(se)) = (contract_enum, &served_enum) {
                    let refused: Vec<&Value> = ce.iter().filter(|v| !se.contains(v)).collect();
                    if !refused.is_empty() {
                        self.miss(
                            at,
                            format!("values {refused:?} of the contract are not accepted"),
                        );
                    }
                }
            }
            Dir::Response => match (contract_enum, &served_enum) {
                (Some(ce), Some(se)) => {
                    let extra: Vec<&Value> = se.iter().filter(|v| !ce.contains(v)).collect();
                    if !extra.is_empty() {
                        self.miss(
                            at,
                            format!(
                                "the server may answer {extra:?}, outside the contract's values"
                            ),
                        );
                    }
                }
                (Some(_), None) => self.miss(
                    at,
                    "the contract's enumeration is not enforced by the served schema",
                ),
                _ => {}
            },
        }
    }

    fn bounds(&mut self, at: &str, c: &Value, s: &Value, dir: Dir) {
        if dir != Dir::Request {
            return;
        }
        let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
        let sv = |k: &str| alternatives(self.served, s).iter().find_map(|a| num(a, k));
        if let Some(smin) = sv("minimum")
            && num(c, "minimum").is_none_or(|cmin| smin > cmin)
        {
            self.miss(
                at,
                format!(
                    "served minimum {smin} is stricter than the contract's {:?}",
                    num(c, "minimum")
                ),
            );
        }
        if let Some(smax) = sv("maximum")
            && num(c, "maximum").is_none_or(|cmax| smax < cmax)
        {
            self.miss(
                at,
                format!(
                    "served maximum {smax} is stricter than the contract's {:?}",
                    num(c, "maximum")
                ),
            );
        }
    }

    fn object(&mut self, at: &str, c: &Value, s: &Value, dir: Dir) {
        let served = self.served;
        let contract = self.contract;
        let s_alts = alternatives(served, s);
        let Some(so) = s_alts.iter().find(|a| {
            a.get("properties").is_some() || a.get("type") == Some(&Value::String("object".into()))
        }) else {
            return;
        };
        let empty = Map::new();
        let cprops = object(c.get("properties")).unwrap_or(&empty);
        let sprops = object(so.get("properties"));
        let free_form = sprops.is_none();
        let (creq, sreq) = (strs(c.get("required")), strs(so.get("required")));
        for (name, cp) in cprops {
            let at = format!("{at}.{name}");
            match sprops.and_then(|p| p.get(name)) {
                Some(sp) => self.schema(&at, Some(cp), Some(sp), dir),
                None if free_form => {}
                None => self.miss(&at, "property missing from the served schema"),
            }
        }
        match dir {
            Dir::Request => {
                for name in sreq.iter().filter(|n| !creq.contains(n)) {
                    self.miss(
                        &format!("{at}.{name}"),
                        "required by the server, optional in the contract",
                    );
                }
            }
            Dir::Response => {
                for name in creq.iter().filter(|n| !sreq.contains(n)) {
                    if sprops.is_some_and(|p| p.contains_key(name.as_str())) {
                        self.miss(
                            &format!("{at}.{name}"),
                            "required by the contract, optional in the served schema",
                        );
                    }
                }
            }
        }
        // The contract's `anyOf` of required lists (one of `prompt`/`messages`).
        if let Some(Value::Array(alts)) = c.get("anyOf") {
            for name in alts.iter().flat_map(|a| strs(a.get("required"))) {
                if !free_form && !sprops.is_some_and(|p| p.contains_key(name.as_str())) {
                    self.miss(
                        &format!("{at}.{name}"),
                        "named by the contract's anyOf, missing from the served schema",
                    );
                }
            }
        }
        let _ = contract;
    }
}

/// A keyword of the served schema, looked up through its alternatives.
fn served_field<'v>(served: &'v Value, s: &'v Value, key: &str) -> Option<&'v Value> {
    s.get(key)
        .or_else(|| alternatives(served, s).into_iter().find_map(|a| a.get(key)))
}
