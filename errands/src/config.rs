//! The config: schema, load and validation.
//!
//! Every check that can fail lives inside a `Deserialize` impl, so that
//! serde_norway attaches the line, column and field path of the offending
//! node to the error; that is how "duplicate name" or "ensure needs a guard"
//! point at the right command instead of at the top of the file.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::family::Family;

mod addresses;
mod fixes;
mod for_phase;
mod input;
mod schema;
pub mod variables;
mod warnings;
pub use for_phase::{load_for_phase, ForPhase};
pub use input::{MAX_CONFIG_BYTES, MAX_EXPANDED_BYTES};
pub use schema::properties_schema;
pub use warnings::warnings;

pub use crate::phase::Phase;

/// Where the BOSH job renders the config.
pub const DEFAULT_PATH: &str = "/var/vcap/jobs/inject-commands/config/commands.yml";
/// The shell every command runs under, as CI runners do: fail on the first
/// error, including inside pipelines, and read no profile.
pub const DEFAULT_SHELL: [&str; 6] = [
    "/bin/bash",
    "--noprofile",
    "--norc",
    "-eo",
    "pipefail",
    "-c",
];
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(2);
/// BOSH fails an errand whose output passes 1 MB; 64 KiB per command leaves room.
pub const DEFAULT_OUTPUT_LIMIT: u64 = 64 * 1024;
/// The longest timeout or retry delay: far past any errand's life, and far
/// from the overflow of a clock deadline (`now + 500000000000y` panics).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// The shortest timeout: below a millisecond no command can even start, so
/// `1ns` would always time out.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// How deep `[` / `{` may nest. The config itself needs 4; YAML's parser
/// takes time quadratic in the depth (100 000 `[` took a minute), so deeper
/// text is refused before it is parsed.
pub const MAX_NESTING: usize = 64;

/// A loaded, validated config.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub shell: Vec<String>,
    pub timeout: Duration,
    pub stop_on_error: bool,
    pub output_limit: u64,
    /// Preview only: `inject run` prints the plan and executes nothing.
    /// Typed here, not in the BOSH job's ERB, where the string "false"
    /// would be true.
    pub dry_run: bool,
    pub commands: Vec<CommandSpec>,
    pub networks: BTreeMap<String, Network>,
    /// The VM as BOSH names it (rendered by the job from `spec`), for the
    /// run's summary line.
    pub instance: crate::summary::Instance,
    /// Finding codes that make `inject run` exit
    /// [`crate::summary::FINDINGS_EXIT`] when they remain after the run.
    pub fail_on_findings: Vec<String>,
    /// How `_INTERFACE` is found when a command starts; the caller hands
    /// it in (see `netenv`). Not read from the file.
    pub interfaces: crate::interfaces::Interfaces,
}

/// One configured command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    pub name: String,
    pub run: String,
    pub unless: Option<String>,
    pub only_if: Option<String>,
    pub phases: Vec<Phase>,
    /// `None`: the config's top-level timeout.
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub retry_delay: Duration,
    pub continue_on_error: bool,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
    pub user: Option<String>,
    pub sensitive: bool,
    /// Finding codes (`inject status`) it fixes besides what its text shows.
    pub fixes: Vec<String>,
}

/// One of BOSH's `spec.networks`, as rendered by the job. Checked at load:
/// `ip` and `gateway` are addresses, `netmask` an address-form mask, all of
/// one family. Kept as the address's canonical text (`2001:db8::1`, as
/// `ip` prints it), which is what commands see: a value written
/// `" 10.0.0.1 "` or `2001:DB8:0::1` reaches them as the address it was
/// checked as, so a guard grepping `ip route` output matches. An empty
/// value (`bosh create-env`'s placeholder network) is no value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default, deserialize_with = "address")]
    pub ip: Option<String>,
    #[serde(default, deserialize_with = "address")]
    pub gateway: Option<String>,
    #[serde(default, deserialize_with = "netmask")]
    pub netmask: Option<String>,
    /// Newer directors' `prefix`: the size of the block reserved for the
    /// instance (32 or 128 for one address; shorter for a delegated prefix).
    #[serde(default, deserialize_with = "director_prefix")]
    pub prefix: Option<u8>,
}

impl Network {
    /// The network's family: that of its IP, else its gateway, else its
    /// netmask; none when the config gives none of them (`bosh
    /// create-env`'s placeholder `{ip: "", gateway: "", netmask: ""}`).
    pub fn family(&self) -> Option<Family> {
        [&self.ip, &self.gateway, &self.netmask]
            .into_iter()
            .flatten()
            .find_map(|text| text.parse::<IpAddr>().ok())
            .map(|ip| Family::of(&ip))
    }

    /// The prefix length its netmask stands for (`ffff:ffff:ffff:ffff::` → 64).
    pub fn prefix_len(&self) -> Option<u8> {
        let mask: IpAddr = self.netmask.as_deref()?.parse().ok()?;
        Some(match mask {
            IpAddr::V4(a) => u32::from(a).count_ones() as u8,
            IpAddr::V6(a) => u128::from(a).count_ones() as u8,
        })
    }

    /// The IP, parsed.
    pub fn address(&self) -> Option<IpAddr> {
        self.ip.as_deref()?.parse().ok()
    }

    /// The gateway, parsed.
    pub fn gateway_address(&self) -> Option<IpAddr> {
        self.gateway.as_deref()?.parse().ok()
    }

    /// Whether the director reserved a whole prefix for the instance (its
    /// `prefix` shorter than an address), not one address: such an IP is
    /// the base of a delegated block, not an address on an interface.
    pub fn is_delegated_prefix(&self) -> bool {
        match (self.prefix, self.family()) {
            (Some(p), Some(f)) => p < f.bits(),
            _ => false,
        }
    }

    /// The values the network gives, by field, without `_INTERFACE`.
    pub(crate) fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (field, value) in [
            ("IP", &self.ip),
            ("GATEWAY", &self.gateway),
            ("NETMASK", &self.netmask),
        ] {
            if let Some(v) = value {
                out.push((field, v.clone()));
            }
        }
        if let Some(p) = self.prefix_len() {
            out.push(("PREFIX", p.to_string()));
        }
        if let Some(f) = self.family() {
            out.push(("FAMILY", f.as_str().to_string()));
        }
        out
    }
}

impl Config {
    /// The timeout that applies to `command`.
    pub fn timeout_of(&self, command: &CommandSpec) -> Duration {
        command.timeout.unwrap_or(self.timeout)
    }
}

impl CommandSpec {
    pub fn in_phase(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }

    /// `text` (the command or one of its guards) as it may be shown in
    /// output, log and plan: [`REDACTED`] when the command is sensitive.
    pub fn shown<'a>(&self, text: &'a str) -> &'a str {
        if self.sensitive {
            REDACTED
        } else {
            text
        }
    }

    /// The names (never the values) of the command's own `env`, sorted.
    /// (The networks' variables it uses are `netenv::used_values`'.)
    pub fn env_names(&self, _config: &Config) -> Vec<String> {
        self.env.keys().cloned().collect()
    }
}

/// What guards and commands show when `sensitive: true`.
pub const REDACTED: &str = "<redacted>";

/// A network name as it appears in an environment variable: upper-cased,
/// every other character than A-Z and 0-9 turned into `_`.
pub fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `-c PATH`, else `$INJECT_CONFIG`, else where the BOSH job renders it.
pub fn resolve_path(cli: Option<PathBuf>) -> PathBuf {
    cli.or_else(|| {
        std::env::var_os("INJECT_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
    .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

/// A config that cannot be used: where (`file:line:column`), and what is
/// wrong, led by the field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", place(.position))]
pub struct ConfigError {
    /// The file (or other origin) the text came from.
    pub origin: String,
    /// 1-based line and column, when the problem has a place.
    pub position: Option<(usize, usize)>,
    /// What is wrong, led by the field path (`commands[0].timeout: ...`).
    pub message: String,
}

/// `:line:column`, or nothing when the problem has no place.
fn place(position: &Option<(usize, usize)>) -> String {
    position.map_or_else(String::new, |(line, column)| format!(":{line}:{column}"))
}

/// Reads and validates the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let bytes = read(path)?;
    let text = text_of(&bytes, &origin)?;
    parse(text, &origin)
}

/// The file's bytes (a regular file of at most [`MAX_CONFIG_BYTES`]), or
/// why they cannot be read.
fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    input::read_bounded(path, MAX_CONFIG_BYTES).map_err(|message| ConfigError {
        origin: path.display().to_string(),
        position: None,
        message,
    })
}

/// Checks that `bytes` are text: a config with a NUL byte is a binary file
/// somebody pointed us at by mistake; non-UTF-8 text cannot be YAML.
fn text_of<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, ConfigError> {
    let at = |offset: usize, message: String| {
        let (line, column) = line_column(&bytes[..offset]);
        ConfigError {
            origin: origin.to_string(),
            position: Some((line, column)),
            message,
        }
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let offset = err.valid_up_to();
            return Err(at(
                offset,
                format!(
                    "not UTF-8 text (byte 0x{:02x}); the config must be YAML or JSON",
                    bytes[offset]
                ),
            ));
        }
    };
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(at(
            offset,
            "binary file (NUL byte); the config must be YAML or JSON text".into(),
        ));
    }
    Ok(text)
}

/// 1-based line and column (in characters) just after `before`.
fn line_column(before: &[u8]) -> (usize, usize) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// Parses and validates config text (YAML, or JSON which is YAML too).
/// `origin` names the text in errors, usually the file's path.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    parse_kept(text, origin, None)
}

/// [`parse`], reading only the commands `keep` marks (by index in
/// `commands:`; all when None): the others are skipped unread, so an error
/// inside one of them is no error here. Everything outside `commands:` is
/// checked as always.
fn parse_kept(text: &str, origin: &str, keep: Option<&[bool]>) -> Result<Config, ConfigError> {
    let blank = text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    });
    if blank {
        return Err(ConfigError {
            origin: origin.to_string(),
            position: Some((1, 1)),
            message: "the file is empty; expected a mapping with `commands:`".into(),
        });
    }
    let at = |(line, column): (usize, usize), message: String| ConfigError {
        origin: origin.to_string(),
        position: Some((line, column)),
        message,
    };
    if let Some(place) = too_deep(text) {
        return Err(at(
            place,
            format!("nested more than {MAX_NESTING} levels deep (`[` or `{{`); a config needs 4"),
        ));
    }
    // Aliases (`*name`) are expanded by the deserializer: measure what they
    // expand to before anything is copied (see [`input::expansion_fits`]).
    input::expansion_fits(text).map_err(|err| yaml_error(origin, &err))?;
    let raw: ConfigFile =
        for_phase::keeping(keep, || serde_norway::from_str(text)).map_err(|err| {
            match second_document(text).filter(|_| err.location().is_none()) {
                Some(place) => at(
                    place,
                    "a second YAML document starts here; the config is one document".into(),
                ),
                None => yaml_error(origin, &err),
            }
        })?;
    let config = Config {
        shell: raw.shell.0,
        timeout: raw.timeout.0,
        stop_on_error: raw.stop_on_error,
        output_limit: raw.output_limit.0,
        dry_run: raw.dry_run,
        commands: raw.commands.0,
        networks: raw.networks.0,
        instance: raw
            .instance
            .map(RawInstance::into_instance)
            .unwrap_or_default(),
        fail_on_findings: raw.fail_on_findings.into_iter().map(|c| c.0).collect(),
        interfaces: Default::default(),
    };
    // A typo in a network variable is a config error now, not an empty
    // string at 3 a.m.
    if let Some(bad) = variables::first_unprovided(&config) {
        // The index in the file, counting the commands skipped unread.
        let index = for_phase::index_in_file(keep, bad.index);
        return Err(ConfigError {
            origin: origin.to_string(),
            position: place_of(text, &bad.variable),
            message: format!("commands[{index}].{}: {}", bad.field, bad.message),
        });
    }
    Ok(config)
}

/// Where `variable` is first written in `text` outside a `#` comment line
/// (the line and column of its name), for an error that has no node.
fn place_of(text: &str, variable: &str) -> Option<(usize, usize)> {
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut from = 0;
        while let Some(at) = line[from..].find(variable).map(|i| i + from) {
            let end = at + variable.len();
            let before = line[..at].bytes().last();
            let after = line.as_bytes().get(end);
            let ident = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
            if !ident(before.as_ref()) && !ident(after) {
                return Some((n + 1, line[..at].chars().count() + 1));
            }
            from = end;
        }
    }
    None
}

/// Where `[` / `{` first nest deeper than [`MAX_NESTING`] (1-based line and
/// column), outside quotes and comments. A quick scan of the text, not a
/// YAML parser: it only has to catch what would make the parser crawl.
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let mut quote: Option<char> = None;
    let (mut escaped, mut comment, mut after_blank) = (false, false, true);
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            (line, column, comment, after_blank) = (line + 1, 0, false, true);
            continue;
        }
        if comment {
            continue;
        }
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '#' if after_blank => comment = true,
                '\'' | '"' => quote = Some(c),
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some((line, column));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        after_blank = c == ' ' || c == '\t';
    }
    None
}

/// Where a second YAML document starts (`---` at the start of a line after
/// some content), for serde_norway's multi-document error, which has no place.
fn second_document(text: &str) -> Option<(usize, usize)> {
    let mut content = false;
    for (i, line) in text.lines().enumerate() {
        let start = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if start && content {
            return Some((i + 1, 1));
        }
        let t = line.trim();
        content |= !(start || t.is_empty() || t.starts_with('#') || t.starts_with('%'));
    }
    None
}

/// serde_norway says `path: message at line L column C`; we say
/// `origin:L:C: path: message`, the form editors and humans jump to.
fn yaml_error(origin: &str, err: &serde_norway::Error) -> ConfigError {
    let text = err.to_string();
    match err.location() {
        Some(loc) => {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            ConfigError {
                origin: origin.to_string(),
                position: Some((loc.line(), loc.column())),
                message: text.replacen(&suffix, "", 1),
            }
        }
        None => ConfigError {
            origin: origin.to_string(),
            position: None,
            message: text,
        },
    }
}

// ---- the file's shape -------------------------------------------------------

// The doc comments of these fields are the descriptions in `inject schema`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with `commands:`")]
struct ConfigFile {
    /// The argv a command's `run` text is appended to.
    #[serde(default)]
    #[schemars(extend("default" = DEFAULT_SHELL))]
    shell: Shell,
    /// Default time limit per command (`30s`, `10m`, `1h`); a command may set its own.
    #[serde(default = "default_timeout")]
    #[schemars(extend("default" = "10m"))]
    timeout: PositiveDuration,
    /// Stop at the first command that fails (unless it sets continue_on_error).
    #[serde(default = "yes")]
    stop_on_error: bool,
    /// Most stdout bytes echoed per command (`64KiB`, `1MiB`); the log keeps all.
    #[serde(default)]
    #[schemars(extend("default" = "64KiB"))]
    output_limit: ByteSize,
    /// Preview only: print what would run and execute nothing. A boolean.
    #[serde(default)]
    dry_run: bool,
    /// The commands to run, in order.
    #[schemars(extend("default" = []))]
    commands: Commands,
    #[serde(default)]
    #[schemars(skip)]
    networks: Networks,
    /// Finding codes (as `inject status` names them) that fail the errand
    /// with exit 3 when they remain after the commands ran, e.g.
    /// `[missing_default_route]`: "the command exited 0 but the VM still
    /// has no IPv6 default" then fails on that instance. The errand only.
    #[serde(default)]
    #[schemars(extend("default" = []))]
    fail_on_findings: Vec<FindingCode>,
    /// The VM as BOSH names it, for the run's summary line; the job renders
    /// it from `spec` (name, id, index, az, deployment).
    #[serde(default)]
    instance: Option<RawInstance>,
}

/// `instance:` as the job renders it from `spec`; every field optional.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Instance")]
struct RawInstance {
    /// The instance group (`spec.name`).
    #[serde(default)]
    name: Option<String>,
    /// The instance's UUID (`spec.id`).
    #[serde(default)]
    id: Option<String>,
    /// `spec.index`.
    #[serde(default)]
    index: Option<u64>,
    /// The availability zone (`spec.az`).
    #[serde(default)]
    az: Option<String>,
    /// `spec.deployment`.
    #[serde(default)]
    deployment: Option<String>,
}

impl RawInstance {
    fn into_instance(self) -> crate::summary::Instance {
        let some = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        crate::summary::Instance {
            name: some(self.name),
            id: some(self.id),
            index: self.index,
            az: some(self.az),
            deployment: some(self.deployment),
        }
    }
}

/// One of the inspector's finding codes ([`crate::summary::FINDING_CODES`]).
struct FindingCode(String);

impl<'de> Deserialize<'de> for FindingCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let NonEmpty(code) = NonEmpty::deserialize(d)?;
        if crate::summary::FINDING_CODES.contains(&code.as_str()) {
            Ok(FindingCode(code))
        } else {
            Err(de::Error::custom(format_args!(
                "unknown finding code `{}`; expected one of: {}",
                code.escape_debug(),
                crate::summary::FINDING_CODES.join(", ")
            )))
        }
    }
}

fn default_timeout() -> PositiveDuration {
    PositiveDuration(DEFAULT_TIMEOUT)
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Command")]
struct RawCommand {
    name: Name,
    run: NonEmpty,
    #[serde(default)]
    unless: Option<NonEmpty>,
    #[serde(default)]
    only_if: Option<NonEmpty>,
    #[serde(default)]
    phases: Option<Phases>,
    #[serde(default)]
    timeout: Option<PositiveDuration>,
    #[serde(default)]
    retries: u32,
    #[serde(default)]
    retry_delay: Option<HumanDuration>,
    #[serde(default)]
    continue_on_error: bool,
    #[serde(default)]
    #[schemars(schema_with = "schema::env")]
    env: Env,
    #[serde(default)]
    cwd: Option<NonEmpty>,
    #[serde(default)]
    user: Option<NonEmpty>,
    #[serde(default)]
    sensitive: bool,
    /// Finding codes of `inject status` this command fixes, for the
    /// dashboard's `f` (a command that adds a default route of a family
    /// fixes its `missing_default_route` without saying so).
    #[serde(default)]
    fixes: Option<fixes::Fixes>,
}

/// The command list; checks names are unique as it goes.
struct Commands(Vec<CommandSpec>);

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Commands;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of commands")
            }
            /// `commands:` with no value, like `commands: null`: none.
            fn visit_unit<E: de::Error>(self) -> Result<Commands, E> {
                Ok(Commands(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Commands, A::Error> {
                let mut seen = HashMap::new();
                let mut commands = Vec::new();
                for index in 0.. {
                    // A command of another phase, when one phase is read
                    // (see for_phase.rs): skipped unread.
                    if !for_phase::kept(index) {
                        match seq.next_element::<de::IgnoredAny>()? {
                            Some(_) => continue,
                            None => break,
                        }
                    }
                    match seq.next_element_seed(CommandSeed {
                        seen: &mut seen,
                        index,
                    })? {
                        Some(cmd) => commands.push(cmd),
                        None => break,
                    }
                }
                Ok(Commands(commands))
            }
        }
        // `any`, not `seq`: a null reaches `visit_unit` only that way.
        d.deserialize_any(ListVisitor)
    }
}

/// Deserializes one command and checks what spans its fields. The checks run
/// inside `visit_map`, so the error carries this command's position and path.
struct CommandSeed<'a> {
    seen: &'a mut HashMap<String, usize>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for CommandSeed<'_> {
    type Value = CommandSpec;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<CommandSpec, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CommandSeed<'_> {
    type Value = CommandSpec;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a command (a mapping with `name:` and `run:`)")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CommandSpec, A::Error> {
        let raw = RawCommand::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let name = raw.name.0;
        if let Some(first) = self.seen.get(&name) {
            return Err(de::Error::custom(format_args!(
                "duplicate name `{name}` (commands[{first}] has it already); names must be unique"
            )));
        }
        self.seen.insert(name.clone(), self.index);
        let phases = raw.phases.map_or_else(|| vec![Phase::Errand], |p| p.0);
        if phases.contains(&Phase::Ensure) && raw.unless.is_none() && raw.only_if.is_none() {
            return Err(de::Error::custom(format_args!(
                "command `{name}` is in phase `ensure` but has no `unless` or `only_if` guard; \
                 the ensure loop would run it again and again"
            )));
        }
        if let Some(key) = raw.env.0.keys().find(|k| owned_by_inject(k)) {
            return Err(de::Error::custom(format_args!(
                "command `{name}`: env sets `{key}`, a name inject owns (INJECT_*): \
                 inject sets those from the networks and for itself; use another name"
            )));
        }
        Ok(CommandSpec {
            name,
            run: raw.run.0,
            unless: raw.unless.map(|g| g.0),
            only_if: raw.only_if.map(|g| g.0),
            phases,
            timeout: raw.timeout.map(|t| t.0),
            retries: raw.retries,
            retry_delay: raw.retry_delay.map_or(DEFAULT_RETRY_DELAY, |d| d.0),
            continue_on_error: raw.continue_on_error,
            env: raw.env.0,
            cwd: raw.cwd.map(|c| PathBuf::from(c.0)),
            user: raw.user.map(|u| u.0),
            sensitive: raw.sensitive,
            fixes: raw.fixes.map(|f| f.0).unwrap_or_default(),
        })
    }
}

/// Names inject sets itself (`INJECT_IPV6_GATEWAY`, `INJECT_SENSITIVE_COMMAND`…):
/// a command's `env` setting one would run with a value the dry run never
/// showed, or swap what a sensitive command runs.
fn owned_by_inject(key: &str) -> bool {
    key.starts_with("INJECT_")
}

/// A string with something in it besides blanks.
struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NonEmpty;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-empty string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NonEmpty, E> {
                if v.trim().is_empty() {
                    Err(E::custom("must not be empty"))
                } else if v.contains('\0') {
                    // A NUL cannot pass into an argument or a path: the
                    // exec would fail mid-run and seem to blame the shell.
                    Err(E::custom("must not hold a NUL character (\\0)"))
                } else {
                    Ok(NonEmpty(v.to_string()))
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<NonEmpty, E> {
                Err(E::custom("must not be empty"))
            }
        }
        d.deserialize_str(V)
    }
}

/// A command's name: shown in every line of output and used in file names,
/// so one line of printable text (no newline, ESC or other control
/// character to break the layout or forge a line).
struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let NonEmpty(name) = NonEmpty::deserialize(d)?;
        match name.chars().find(|c| c.is_control()) {
            Some(c) => Err(de::Error::custom(format_args!(
                "`{}` holds a control character ({}); a name is one line of printable text",
                name.escape_debug(),
                c.escape_debug()
            ))),
            None => Ok(Name(name)),
        }
    }
}

/// A command's `env`; a name given twice is an error (YAML would silently
/// keep the last).
#[derive(Default)]
struct Env(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Env;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of environment names to values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Env, E> {
                Ok(Env::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Env, A::Error> {
                let mut env = BTreeMap::new();
                while let Some(EnvKey(key)) = map.next_key()? {
                    if env.contains_key(&key) {
                        return Err(de::Error::custom(format_args!(
                            "`{key}` is given twice; each environment name once"
                        )));
                    }
                    let EnvValue(value) = map.next_value()?;
                    env.insert(key, value);
                }
                Ok(Env(env))
            }
        }
        d.deserialize_map(V)
    }
}

/// An environment value; YAML numbers and booleans are taken as written,
/// since `PORT: 8080` means the string "8080" in an environment.
struct EnvValue(String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                if v.contains('\0') {
                    return Err(E::custom(
                        "an environment value cannot hold a NUL character",
                    ));
                }
                Ok(EnvValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string checked by `check` while its scalar is read, so that an error
/// carries the scalar's own line and column.
fn checked_str<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
    check: fn(&str) -> Result<(), String>,
) -> Result<String, D::Error> {
    struct V(&'static str, fn(&str) -> Result<(), String>);
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            (self.1)(v).map_err(E::custom)?;
            Ok(v.to_string())
        }
    }
    d.deserialize_str(V(expecting, check))
}

/// An environment variable's name: what goes before the `=`.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct EnvKey(String);

impl<'de> Deserialize<'de> for EnvKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_str(d, "an environment name", |key| {
            if key.is_empty() {
                return Err("an environment name must not be empty".into());
            }
            if key.contains('=') || key.chars().any(char::is_control) {
                // `A=B: x` would set A to `B=x`: never what was meant.
                return Err(format!(
                    "`{}` is no environment name: it must not hold `=` or a control character",
                    key.escape_debug()
                ));
            }
            Ok(())
        })
        .map(EnvKey)
    }
}

/// `networks:`; two names that become the same variable names
/// (`ipv6-net`, `ipv6_net`) would silently overwrite each other.
#[derive(Default)]
struct Networks(BTreeMap<String, Network>);

impl<'de> Deserialize<'de> for Networks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Networks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of network names to {ip, gateway, netmask}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Networks, A::Error> {
                let mut networks = BTreeMap::new();
                let mut by_var: HashMap<String, String> = HashMap::new();
                while let Some(NetworkName(name)) = map.next_key_seed(NetworkName::seed(&by_var))? {
                    by_var.insert(env_name(&name), name.clone());
                    let network = map.next_value::<Network>()?;
                    one_family(&name, &network).map_err(de::Error::custom)?;
                    addresses::usable(&name, &network).map_err(de::Error::custom)?;
                    networks.insert(name, network);
                }
                Ok(Networks(networks))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Networks, E> {
                Ok(Networks::default())
            }
        }
        d.deserialize_map(V)
    }
}

/// A network's name, checked against those before it while its scalar is
/// read (so the error points at the second name).
struct NetworkName(String);

struct NetworkNameSeed<'a>(&'a HashMap<String, String>);

impl NetworkName {
    fn seed(seen: &HashMap<String, String>) -> NetworkNameSeed<'_> {
        NetworkNameSeed(seen)
    }
}

impl<'de> DeserializeSeed<'de> for NetworkNameSeed<'_> {
    type Value = NetworkName;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<NetworkName, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NetworkNameSeed<'_> {
    type Value = NetworkName;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a network name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<NetworkName, E> {
        if name.trim().is_empty() {
            return Err(E::custom("a network name must not be empty"));
        }
        if name.chars().any(char::is_control) {
            return Err(E::custom(format_args!(
                "`{}` holds a control character; a network name is one line of printable text",
                name.escape_debug()
            )));
        }
        let var = env_name(name);
        if let Some(other) = self.0.get(&var) {
            return Err(E::custom(format_args!(
                "networks `{other}` and `{name}` both become INJECT_NET_{var}_*; rename one"
            )));
        }
        Ok(NetworkName(name.to_string()))
    }
}

/// The values of a network must be of one family: an IPv4 address with an
/// IPv6 gateway is no network a NIC can have.
fn one_family(name: &str, network: &Network) -> Result<(), String> {
    let mut seen: Option<(&str, &str, bool)> = None;
    for (field, value) in [
        ("ip", &network.ip),
        ("gateway", &network.gateway),
        ("netmask", &network.netmask),
    ] {
        let Some(text) = value else { continue };
        let v6 = text.contains(':');
        match seen {
            Some((first, first_text, first_v6)) if first_v6 != v6 => {
                let fam = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
                return Err(format!(
                    "network `{name}`: {first} {first_text} is {} but {field} {text} is {}; one network is one family",
                    fam(first_v6),
                    fam(v6)
                ));
            }
            None => seen = Some((field, text.as_str(), v6)),
            _ => {}
        }
    }
    if let (Some(prefix), Some((_, _, v6))) = (network.prefix, seen) {
        let bits = if v6 { 128 } else { 32 };
        if prefix > bits {
            return Err(format!(
                "network `{name}`: prefix {prefix} is longer than an address of its family ({bits} bits)"
            ));
        }
    }
    Ok(())
}

/// An address, as its canonical text; an empty value is no value.
fn address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    canonical(d, "an IP address", |text| {
        text.parse::<IpAddr>()
            .map_err(|_| format!("`{text}` is not an IP address (like 10.0.0.1 or 2001:db8::1)"))
    })
}

/// A string read as an address (trimmed; empty → `None`) and kept in the
/// address's canonical form, so commands get exactly what was checked.
fn canonical<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
    check: fn(&str) -> Result<IpAddr, String>,
) -> Result<Option<String>, D::Error> {
    struct V(&'static str, fn(&str) -> Result<IpAddr, String>);
    impl Visitor<'_> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
            let text = v.trim();
            if text.is_empty() {
                return Ok(None);
            }
            (self.1)(text)
                .map(|a| Some(a.to_string()))
                .map_err(E::custom)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
            Ok(None)
        }
    }
    d.deserialize_str(V(expecting, check))
}

/// The director's `prefix`: a number of bits, given as a number or (as
/// directors render it) a string of digits; empty is no value.
fn director_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<u8>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a prefix length (0 to 128)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<u8>, E> {
            match u8::try_from(v) {
                Ok(p) if p <= 128 => Ok(Some(p)),
                _ => Err(E::custom(format_args!(
                    "`{v}` is no prefix length: at most 128"
                ))),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<u8>, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::custom(format_args!(
                    "`{v}` is no prefix length: 0 to 128"
                ))),
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u8>, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<u64>() {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format_args!(
                    "`{v}` is no prefix length (a number of bits, like 64)"
                ))),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<u8>, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A netmask as BOSH renders it: an address whose bits are ones, then
/// zeros (`255.255.255.0`, `ffff:ffff:ffff:ffff::`). A prefix length is
/// refused: commands would get `64` where they expect a mask.
fn netmask<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    canonical(d, "a netmask address", |text| {
        let Ok(mask) = text.parse::<IpAddr>() else {
            return Err(format!(
                "`{text}` is not a netmask address (like 255.255.255.0 or ffff:ffff:ffff:ffff::)"
            ));
        };
        // The mask's bits, left-aligned in 128, so one test serves both families.
        let bits = match mask {
            IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
            IpAddr::V6(a) => u128::from(a),
        };
        // Ones then zeros: the inverse is 0…01…1, so adding 1 clears all of it.
        let inverse = !bits;
        if inverse & inverse.wrapping_add(1) != 0 {
            return Err(format!(
                "`{text}` is not a netmask: its one bits must come first, like 255.255.255.0"
            ));
        }
        Ok(mask)
    })
}

/// The shell argv; the command text is appended as its last argument.
struct Shell(Vec<String>);

impl Default for Shell {
    fn default() -> Shell {
        Shell(DEFAULT_SHELL.iter().map(|s| s.to_string()).collect())
    }
}

impl<'de> Deserialize<'de> for Shell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shell;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list like [/bin/bash, -c]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shell, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    if arg.contains('\0') {
                        return Err(de::Error::custom(
                            "an argument must not hold a NUL character (\\0)",
                        ));
                    }
                    argv.push(arg);
                }
                if argv.is_empty() || argv[0].trim().is_empty() {
                    return Err(de::Error::custom(
                        "must name a program, like [/bin/bash, -c]",
                    ));
                }
                Ok(Shell(argv))
            }
        }
        d.deserialize_seq(V)
    }
}

/// At least one phase.
struct Phases(Vec<Phase>);

impl<'de> Deserialize<'de> for Phases {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Phases;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list of phases ({})", Phase::NAMES)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Phases, A::Error> {
                let mut phases = Vec::new();
                while let Some(phase) = seq.next_element::<Phase>()? {
                    if !phases.contains(&phase) {
                        phases.push(phase);
                    }
                }
                if phases.is_empty() {
                    return Err(de::Error::custom(format_args!(
                        "must name at least one phase ({})",
                        Phase::NAMES
                    )));
                }
                Ok(Phases(phases))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A duration written for humans: `30s`, `10m`, `1h 30m`.
struct HumanDuration(Duration);

/// A duration that must be more than zero (a timeout).
struct PositiveDuration(Duration);

/// Parses `30s`, `10m`, `1h 30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|_| {
        format!("invalid duration `{text}`: expected a number and a unit, like `30s`, `10m` or `1h 30m`")
    })
}

fn deserialize_duration<'de, D: Deserializer<'de>>(
    d: D,
    positive: bool,
) -> Result<Duration, D::Error> {
    struct V(bool);
    impl Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration like `30s` or `10m`")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            let d = parse_duration(v).map_err(E::custom)?;
            if d > MAX_DURATION {
                return Err(E::custom(format_args!(
                    "`{v}` is too long; at most 365 days"
                )));
            }
            if self.0 && d.is_zero() {
                return Err(E::custom(format_args!(
                    "`{v}` is no time at all; a timeout must be more than 0"
                )));
            }
            if self.0 && d < MIN_TIMEOUT {
                return Err(E::custom(format_args!(
                    "`{v}` is too short for any command to start; a timeout is at least 1ms"
                )));
            }
            Ok(d)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Err(E::custom(format_args!(
                "`{v}` has no unit; write `{v}s` for seconds or `{v}m` for minutes"
            )))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            Err(E::custom(format_args!(
                "invalid duration `{v}`: expected a duration like `30s` or `10m`"
            )))
        }
    }
    d.deserialize_any(V(positive))
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_duration(d, false).map(HumanDuration)
    }
}

impl<'de> Deserialize<'de> for PositiveDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_duration(d, true).map(PositiveDuration)
    }
}

/// A size in bytes: `65536`, `64KiB`, `1MiB`, `100kB`.
struct ByteSize(u64);

impl Default for ByteSize {
    fn default() -> ByteSize {
        ByteSize(DEFAULT_OUTPUT_LIMIT)
    }
}

/// Parses a size: a whole number with an optional unit, B, KB/kB (1000),
/// KiB (1024), MB, MiB, GB, GiB. Small enough not to need a crate.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad =
        || format!("invalid size `{text}`: expected a number and a unit, like `64KiB` or `1MiB`");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" | "K" | "k" => 1000,
        "KiB" => 1 << 10,
        "MB" | "M" => 1000 * 1000,
        "MiB" => 1 << 20,
        "GB" | "G" => 1000 * 1000 * 1000,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(factor).ok_or_else(bad)
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size like `64KiB`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_size(v).map(ByteSize).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A size for people: `64 KiB`, `1.5 MiB`, `300 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
