//! Reading the config with bounds: the file's size, what it is (a FIFO
//! would hang the read, `/dev/zero` would never end it) and how far YAML
//! aliases expand it.
//!
//! The alias bound exists because serde_norway copies an aliased node each
//! time it is used: a 429 KB file aliasing a 100 KB string 20 000 times took
//! `check` to 1.97 GB, and 60 000 aliases aborted the process. serde_norway's
//! own guard counts alias jumps (100 per event), not the bytes they copy, so
//! the text is first walked once without copying anything, summing what
//! every node would expand to; past [`MAX_EXPANDED_BYTES`] it is refused.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The largest config file read: a rendered config with hundreds of
/// commands is a few hundred KB; 16 MiB is far past any real one and still
/// a bounded read.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// The most the config may expand to once aliases are followed: the bytes
/// of every scalar plus one per node, counted each time an alias uses them.
/// The same 16 MiB: aliases may share text, not multiply it.
pub const MAX_EXPANDED_BYTES: u64 = MAX_CONFIG_BYTES;

/// The bytes of the regular file at `path`, at most `cap` of them. A FIFO,
/// a device, a directory or a socket is refused before it is read: it is
/// opened without blocking (a FIFO with no writer would wait forever) and
/// checked with `fstat` on the open descriptor, so what is read is what was
/// checked. The read stops at `cap + 1` bytes, whatever the size said.
pub fn read_bounded(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let cannot = |err: std::io::Error| {
        format!("cannot read the config: {err} (give another with -c PATH or INJECT_CONFIG)")
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits() | nix::fcntl::OFlag::O_NOCTTY.bits())
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(format!(
            "cannot read the config: it is {what}; the config must be a regular file \
             (give another with -c PATH or INJECT_CONFIG)"
        ));
    }
    if meta.len() > cap {
        return Err(too_big(meta.len(), cap));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take(cap + 1)`: a file that grows after the fstat is still bounded,
    // and one byte past the cap says it grew past it.
    (&file as &File)
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(bytes.len() as u64, cap));
    }
    Ok(bytes)
}

fn too_big(len: u64, cap: u64) -> String {
    format!(
        "the config is {len} bytes or more; the most inject reads is {cap} bytes ({} MiB)",
        cap / (1024 * 1024)
    )
}

/// Refuses `text` when its aliases expand it past [`MAX_EXPANDED_BYTES`],
/// with serde_norway's place for the node where the budget ran out. Any
/// other error is left for the real parse, which reports it with its field
/// path.
pub fn expansion_fits(text: &str) -> Result<(), serde_norway::Error> {
    let budget = Budget {
        left: Cell::new(MAX_EXPANDED_BYTES),
        exceeded: Cell::new(false),
    };
    match Measure(&budget).deserialize(serde_norway::Deserializer::from_str(text)) {
        Err(err) if budget.exceeded.get() => Err(err),
        _ => Ok(()),
    }
}

struct Budget {
    left: Cell<u64>,
    exceeded: Cell<bool>,
}

impl Budget {
    fn spend<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        // One byte per node as well as the scalar's own: an alias of a
        // list of empty strings expands too.
        let cost = bytes as u64 + 1;
        match self.left.get().checked_sub(cost) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom(format_args!(
                    "aliases (`*name`) expand the config past {} MiB; \
                     a config uses an anchor a few times, not thousands",
                    MAX_EXPANDED_BYTES / (1024 * 1024)
                )))
            }
        }
    }
}

/// Walks any YAML node, spending its size from the budget; keeps nothing.
#[derive(Clone, Copy)]
struct Measure<'a>(&'a Budget);

impl<'de> de::DeserializeSeed<'de> for Measure<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Measure<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.spend(8)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.spend(8)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.0.spend(16)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.0.spend(16)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.spend(8)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.spend(v.len())
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<(), E> {
        self.0.spend(v.len())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.spend(0)?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.spend(0)?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag x`): measure the tag's value as any other.
        let (_, variant): (IgnoredAny, _) = data.variant()?;
        de::VariantAccess::newtype_variant_seed(variant, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_used_a_few_times_fits() {
        let text = "env: &e {A: b}\nx: *e\ny: *e\n";
        assert!(expansion_fits(text).is_ok());
    }

    #[test]
    fn thousands_of_aliases_of_a_long_string_are_refused() {
        let big = "x".repeat(100_000);
        let mut text = format!("a: &big {big}\nb: [");
        for _ in 0..20_000 {
            text.push_str("*big,");
        }
        text.push_str("]\n");
        let err = expansion_fits(&text).unwrap_err();
        assert!(
            err.to_string().contains("expand the config past 16 MiB"),
            "{err}"
        );
    }

    #[test]
    fn other_errors_are_left_to_the_real_parse() {
        assert!(expansion_fits("a: [unclosed").is_ok());
    }
}
