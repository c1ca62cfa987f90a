//! JSON Schemas cut down to the OpenAPI 3.0 subset Gemini accepts, for
//! function parameters and `responseSchema`: one key outside it fails the
//! whole request with a 400.
//!
//! Only the keys of Gemini's `Schema` object are kept ([`KEPT_SCHEMA_KEYS`]);
//! every other key goes, [`REMOVED_SCHEMA_KEYS`] being the ones clients'
//! tools are known to carry. Before that, what has a counterpart is
//! rewritten: `$ref` to `#/$defs/…` or `#/definitions/…` is inlined
//! (a recursive one becomes the bare type it names, an unresolvable one
//! goes), `allOf` members are
//! merged, `oneOf` is `anyOf`, `const` is a one-value `enum`, a `null`
//! member of a type list, `anyOf` or `enum` becomes `nullable: true`, an
//! array without `items` gets string items, `required` names only defined
//! properties (Gemini refuses anything else).
//! Names under `properties` are data, never keywords: a property called
//! `default` stays.

use serde_json::{Map, Value, json};

/// The keys of Gemini's `Schema` that are kept (`default`, `example` and
/// `title` are documented too, but older API versions rejected them and
/// they tell the model nothing a description does not).
pub const KEPT_SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "anyOf",
    "propertyOrdering",
];

/// JSON Schema keys tools carry that Gemini rejects; [`clean_schema`]
/// removes them (with any other key outside [`KEPT_SCHEMA_KEYS`]).
pub const REMOVED_SCHEMA_KEYS: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "$ref",
    "$defs",
    "definitions",
    "additionalProperties",
    "unevaluatedProperties",
    "patternProperties",
    "propertyNames",
    "dependentSchemas",
    "dependentRequired",
    "dependencies",
    "additionalItems",
    "unevaluatedItems",
    "prefixItems",
    "contains",
    "uniqueItems",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "if",
    "then",
    "else",
    "not",
    "const",
    "oneOf",
    "allOf",
    "default",
    "examples",
    "example",
    "title",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
];

/// How many `$ref`s one schema may inline: a bound on the growth of a
/// schema whose definitions refer to each other many times.
const MAX_INLINED_REFS: usize = 256;

/// `schema` in the subset Gemini accepts.
pub fn clean_schema(schema: &Value) -> Value {
    let defs = ["$defs", "definitions"]
        .iter()
        .filter_map(|key| schema.get(*key).and_then(Value::as_object))
        .collect();
    let mut cleaner = Cleaner {
        defs,
        expanding: Vec::new(),
        budget: MAX_INLINED_REFS,
    };
    Value::Object(cleaner.clean(schema))
}

/// The state of one schema's cleaning: its definitions and the references
/// being inlined (a cycle guard).
struct Cleaner<'a> {
    defs: Vec<&'a Map<String, Value>>,
    expanding: Vec<String>,
    budget: usize,
}

impl Cleaner<'_> {
    fn clean(&mut self, schema: &Value) -> Map<String, Value> {
        let Some(object) = schema.as_object() else {
            return Map::new();
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            return self.inline(reference, object);
        }
        let mut object = object.clone();
        if let Some(Value::Array(members)) = object.remove("allOf") {
            for member in &members {
                let member = self.clean(member);
                merge_into(&mut object, member);
            }
        }
        self.keywords(object)
    }

    /// The definition `reference` names, its sibling keys on top, cleaned.
    fn inline(&mut self, reference: &str, object: &Map<String, Value>) -> Map<String, Value> {
        let name = ["#/$defs/", "#/definitions/"]
            .iter()
            .find_map(|prefix| reference.strip_prefix(prefix));
        let target = name.and_then(|name| self.defs.iter().find_map(|defs| defs.get(name)));
        let mut siblings = object.clone();
        siblings.remove("$ref");
        let (Some(name), Some(Value::Object(target))) = (name, target) else {
            return self.clean(&Value::Object(siblings));
        };
        if self.budget == 0 || self.expanding.iter().any(|n| n == name) {
            // Recursion stops here, as the bare type of what it refers to.
            let kind = target.get("type").filter(|t| t.is_string());
            siblings.insert("type".into(), kind.cloned().unwrap_or(json!("object")));
            return self.clean(&Value::Object(siblings));
        }
        self.budget -= 1;
        let mut merged = target.clone();
        merged.extend(siblings);
        self.expanding.push(name.to_string());
        let cleaned = self.clean(&Value::Object(merged));
        self.expanding.pop();
        cleaned
    }

    /// The kept keys of an object without `$ref` or `allOf`, rewritten.
    fn keywords(&mut self, object: Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        let mut nullable = false;
        let mut union = Vec::new();
        for (key, value) in object {
            match key.as_str() {
                "type" => nullable |= write_type(&mut out, &mut union, value),
                "properties" => {
                    let properties = self.properties(&value);
                    if !properties.is_empty() {
                        out.insert(key, Value::Object(properties));
                    }
                }
                "items" => {
                    let items = match value {
                        Value::Array(tuple) => tuple.first().cloned().unwrap_or(json!({})),
                        other => other,
                    };
                    out.insert(key, Value::Object(self.clean(&items)));
                }
                "anyOf" | "oneOf" => {
                    for member in value.as_array().into_iter().flatten() {
                        match member.get("type").and_then(Value::as_str) == Some("null") {
                            true => nullable = true,
                            false => union.push(Value::Object(self.clean(member))),
                        }
                    }
                }
                "const" if !out.contains_key("enum") => {
                    out.insert("enum".into(), json!([value]));
                }
                "nullable" => nullable |= value.as_bool() == Some(true),
                _ if KEPT_SCHEMA_KEYS.contains(&key.as_str()) => {
                    out.insert(key, value);
                }
                _ => {}
            }
        }
        // Gemini refuses an array without `items` ("missing field"); a
        // list of strings is the least surprising guess.
        if out.get("type").and_then(Value::as_str) == Some("array") && !out.contains_key("items") {
            out.insert("items".into(), json!({"type": "string"}));
        }
        nullable |= fix_enum(&mut out);
        fix_format(&mut out);
        fix_required(&mut out);
        match union.len() {
            0 => {}
            1 => {
                if let Some(Value::Object(only)) = union.pop() {
                    merge_into(&mut out, only);
                }
            }
            _ => {
                out.insert("anyOf".into(), Value::Array(union));
            }
        }
        if nullable {
            out.insert("nullable".into(), json!(true));
        }
        out
    }

    fn properties(&mut self, value: &Value) -> Map<String, Value> {
        let Some(properties) = value.as_object() else {
            return Map::new();
        };
        properties
            .iter()
            .map(|(name, schema)| (name.clone(), Value::Object(self.clean(schema))))
            .collect()
    }
}

/// Writes `type`; a list of types becomes one type (or an `anyOf` of
/// them). Whether `null` was among them.
fn write_type(out: &mut Map<String, Value>, union: &mut Vec<Value>, value: Value) -> bool {
    let types: Vec<Value> = match value {
        Value::Array(types) => types,
        single => vec![single],
    };
    let null = types.iter().any(|t| t == "null");
    let mut types: Vec<Value> = types.into_iter().filter(|t| *t != "null").collect();
    match types.len() {
        0 => {}
        1 => {
            out.insert("type".into(), types.remove(0));
        }
        _ => union.extend(types.into_iter().map(|t| json!({"type": t}))),
    }
    null
}

/// Gemini's `enum` holds strings: `null` in it is `nullable`; other
/// non-strings cannot be said, so the values move into the description.
/// Whether `null` was among them.
fn fix_enum(out: &mut Map<String, Value>) -> bool {
    let Some(Value::Array(values)) = out.remove("enum") else {
        return false;
    };
    let null = values.iter().any(Value::is_null);
    let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
    if values.iter().all(Value::is_string) {
        if !values.is_empty() {
            out.insert("enum".into(), Value::Array(values));
        }
        return null;
    }
    let listed: Vec<String> = values.iter().map(Value::to_string).collect();
    let note = format!("One of: {}.", listed.join(", "));
    let description = match out.get("description").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => format!("{text} {note}"),
        _ => note,
    };
    out.insert("description".into(), json!(description));
    null
}

/// Keeps a `format` only where Gemini gives it a meaning.
fn fix_format(out: &mut Map<String, Value>) {
    let known = match (
        out.get("type").and_then(Value::as_str),
        out.get("format").and_then(Value::as_str),
    ) {
        (_, None) => return,
        (Some("string"), Some(format)) => ["enum", "date-time"].contains(&format),
        (Some("integer"), Some(format)) => ["int32", "int64"].contains(&format),
        (Some("number"), Some(format)) => ["float", "double"].contains(&format),
        _ => false,
    };
    if !known {
        out.remove("format");
    }
}

/// `required` names only properties there are (Gemini refuses others).
fn fix_required(out: &mut Map<String, Value>) {
    let Some(Value::Array(required)) = out.remove("required") else {
        return;
    };
    let Some(properties) = out.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<Value> = required
        .into_iter()
        .filter(|name| name.as_str().is_some_and(|n| properties.contains_key(n)))
        .collect();
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
}

/// Adds `from`'s keys to `into`: `properties` and `required` joined, any
/// other key only where `into` has none.
fn merge_into(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (key, value) in from {
        match (key.as_str(), into.get_mut(&key), value) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (name, schema) in theirs {
                    mine.entry(name).or_insert(schema);
                }
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for name in theirs {
                    if !mine.contains(&name) {
                        mine.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                into.insert(key, value);
            }
        }
    }
}
