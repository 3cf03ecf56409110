//! A command's optional `fixes:` list: the finding codes of `inject status`
//! it fixes, beyond what its text shows (a command that adds a default route
//! of a family fixes that family's `missing_default_route` without saying
//! so). The dashboard's `f` and status's hints offer a command only for a
//! finding it fixes, so an unknown code is a config error, not a silent
//! no-offer.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::summary::FINDING_CODES;

/// Finding codes, each known, each once.
pub(super) struct Fixes(pub Vec<String>);

impl<'de> Deserialize<'de> for Fixes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fixes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of finding codes (as `inject status --json` names them)")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Fixes, E> {
                Ok(Fixes(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fixes, A::Error> {
                // Each code checked as `fail_on_findings`' are.
                let mut codes: Vec<String> = Vec::new();
                while let Some(super::FindingCode(code)) = seq.next_element()? {
                    if !codes.contains(&code) {
                        codes.push(code);
                    }
                }
                Ok(Fixes(codes))
            }
        }
        d.deserialize_seq(V)
    }
}

impl JsonSchema for Fixes {
    fn schema_name() -> Cow<'static, str> {
        "Fixes".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "items": {"type": "string", "enum": FINDING_CODES},
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    #[test]
    fn fixes_names_finding_codes_and_an_unknown_one_is_an_error_with_its_place() {
        let ok = parse(
            "commands:\n  - name: a\n    run: x\n    fixes: [gateway_not_on_link, gateway_not_on_link]\n",
            "c.yml",
        )
        .unwrap();
        assert_eq!(ok.commands[0].fixes, ["gateway_not_on_link"]);
        let err = parse(
            "commands:\n  - name: a\n    run: x\n    fixes: [no_such_code]\n",
            "c.yml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.yml:4:"), "{err}");
        assert!(err.contains("commands[0].fixes"), "{err}");
        assert!(err.contains("unknown finding code `no_such_code`"), "{err}");
    }
}
