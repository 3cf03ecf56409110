//! The JSON Schema of the BOSH job's properties, generated from the config
//! file's own types: `inject schema` prints it, and
//! `bosh-release/jobs/inject-commands/properties_schema.json` is that output
//! (a test fails when they drift). The schema says what a director can check
//! before rendering (types, names, the shape of a command); the binary still
//! validates everything, with places, when it loads the rendered config.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use super::{
    ByteSize, Commands, ConfigFile, FindingCode, HumanDuration, Name, NonEmpty, Phases,
    PositiveDuration, RawCommand, Shell,
};

/// `30s`, `10m`, `1h 30m`, `500ms`: numbers each with a unit (humantime's).
const DURATION: &str = r"^\s*([0-9]+\s*[a-zA-Zµ]+\s*)+$";
/// `65536`, `64KiB`, `1MiB`, `100kB` (as `parse_size` reads them).
const SIZE: &str = r"^\s*[0-9]+\s*(B|KB|kB|K|k|KiB|MB|M|MiB|GB|G|GiB)?\s*$";

/// The schema of the job's properties: the config file's keys without
/// `networks` (the job renders those from the instance's `spec.networks`),
/// none required (the job's spec gives each property a default).
pub fn properties_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(ConfigFile).to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("required");
        object.insert(
            "title".into(),
            "Properties of the inject-commands job (inject schema)".into(),
        );
    }
    schema
}

impl JsonSchema for Commands {
    fn schema_name() -> Cow<'static, str> {
        "Commands".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "array", "items": generator.subschema_for::<RawCommand>()})
    }
}

impl JsonSchema for Shell {
    fn schema_name() -> Cow<'static, str> {
        "Shell".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "items": {"type": "string"},
            "prefixItems": [{"type": "string", "pattern": r"\S"}],
            "minItems": 1,
        })
    }
}

impl JsonSchema for Phases {
    fn schema_name() -> Cow<'static, str> {
        "Phases".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "items": generator.subschema_for::<super::Phase>(),
            "minItems": 1,
        })
    }
}

impl JsonSchema for NonEmpty {
    fn schema_name() -> Cow<'static, str> {
        "NonEmpty".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": r"\S"})
    }
}

impl JsonSchema for Name {
    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // One line of printable text: no control character (C0, DEL, C1).
        json_schema!({
            "type": "string",
            "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$",
        })
    }
}

impl JsonSchema for FindingCode {
    fn schema_name() -> Cow<'static, str> {
        "FindingCode".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "enum": crate::summary::FINDING_CODES})
    }
}

fn duration() -> Schema {
    json_schema!({"type": "string", "pattern": DURATION})
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        duration()
    }
}

impl JsonSchema for PositiveDuration {
    fn schema_name() -> Cow<'static, str> {
        "PositiveDuration".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        duration()
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": SIZE},
            ]
        })
    }
}

/// A command's `env`: names without `=` or NUL; values as YAML writes them.
pub(super) fn env(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["object", "null"],
        "propertyNames": {"pattern": "^[^=\u{0}]+$"},
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    })
}
