//! YAML plumbing shared by the config and the interview records.
//!
//! serde_yaml alone is not strict enough for files people edit by hand: it lets a duplicate key in
//! a map silently win, reports a duplicate struct field at the top of the mapping instead of at the
//! key, and its messages lack advice. So every file goes through the same steps here: a size and
//! encoding check, a first pass over the raw document (duplicate keys, empty files, nesting and
//! alias limits), the typed parse, and messages rewritten into `path:line:col: what to do`.
//! Problems found after parsing are placed with [`locate`]. [`parse_once`] makes the same
//! checks in one pass over a good file, for the records.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer};

use crate::core::EmailAddress;
use crate::core::policy::parse_delay;
use crate::input::diagnostic::Diagnostic;
use crate::input::unique_keys::UniqueKeys;

/// Files larger than this are refused unread: no config or record comes close, and it bounds the
/// time and memory that a hostile or corrupted file can cost.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Reads a whole file as UTF-8 text, refusing oversized and non-UTF-8 files with a diagnostic.
pub fn read(path: &Path) -> Result<String, Diagnostic> {
    let cannot = |e: std::io::Error| Diagnostic::new(path, format!("cannot read the file: {e}"));
    let file = File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if meta.is_dir() {
        return Err(Diagnostic::new(
            path,
            "is a directory, not a file: give the path of a YAML file",
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(too_big(path, meta.len()));
    }
    let mut bytes = Vec::new();
    // The limit holds even if the file grows between the check and the read.
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_big(path, bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let bad = e.as_bytes()[good.len()];
        // `good` is valid UTF-8 by construction.
        let before = String::from_utf8_lossy(good);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Diagnostic::at(
            path,
            line,
            column,
            format!("the file is not UTF-8 text (byte 0x{bad:02x}); save it as UTF-8"),
        )
    })
}

fn too_big(path: &Path, len: u64) -> Diagnostic {
    Diagnostic::new(
        path,
        format!(
            "the file is {len} bytes, more than the limit of {MAX_BYTES} (1 MiB): \
             this is not a followup file, or split it into several"
        ),
    )
}

/// Parses one YAML document into `T`. `what` names what the file should hold, for the message
/// about an empty file ("one interview (a mapping) or a list of them").
pub fn parse<T: DeserializeOwned>(text: &str, file: &Path, what: &str) -> Result<T, Diagnostic> {
    if let Some((line, column)) = too_deep(text) {
        return Err(Diagnostic::at(
            file,
            line,
            column,
            format!(
                "brackets `[` and `{{` nest more than {MAX_FLOW_DEPTH} levels deep here: \
                 no followup file needs that; check the brackets"
            ),
        ));
    }
    match serde_yaml::from_str::<Node>(text) {
        Ok(Node::Null) => {
            return Err(Diagnostic::new(
                file,
                format!("the file is empty: write {what} in it"),
            ));
        }
        Ok(_) => {}
        Err(e) => return Err(diagnostic(&e, file, text)),
    }
    serde_yaml::from_str(text).map_err(|e| diagnostic(&e, file, text))
}

/// [`parse`] in one pass over a good file: the repeated keys are found while `T` is built
/// ([`UniqueKeys`]) instead of in a first pass over the raw document, which took as long as the
/// typed parse. A file the one pass refuses, or whose keys it cannot compare as YAML would
/// (see [`crate::input::unique_keys`]), is read again by [`parse`]: the outcome and every
/// message are [`parse`]'s. Records, thousands of files, are read this way.
pub fn parse_once<T: DeserializeOwned>(
    text: &str,
    file: &Path,
    what: &str,
) -> Result<T, Diagnostic> {
    if too_deep(text).is_none()
        && let Ok(value) = T::deserialize(UniqueKeys(serde_yaml::Deserializer::from_str(text)))
    {
        return Ok(value);
    }
    parse(text, file, what)
}

/// How deep `[`/`{` may nest. libyaml takes time quadratic in the depth of a flow collection
/// inside a block mapping (measured: 40k levels, 4.7 s; a 1 MiB file could take over ten minutes),
/// before serde_yaml's own limit of 128 applies, so depth is checked on the raw text first.
const MAX_FLOW_DEPTH: usize = 100;

/// The position where brackets first nest too deep. Brackets in quotes and comments count too:
/// that over-counts only for text with a hundred unclosed brackets, which no real file has.
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1, 0);
    for c in text.chars() {
        column += 1;
        match c {
            '\n' => (line, column) = (line + 1, 0),
            '[' | '{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some((line, column));
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Turns a serde_yaml error into a diagnostic: 1-based position, no trailing "at line ..", and
/// advice where serde's own words leave the reader guessing.
pub fn diagnostic(err: &serde_yaml::Error, file: &Path, text: &str) -> Diagnostic {
    let raw = strip_positions(&err.to_string());
    let (prefix, msg) = split_path(&raw);
    // The path of an item of a top-level list reads `.[0]`.
    let prefix = prefix.map(|p| p.strip_prefix('.').unwrap_or(p));
    let msg = advise(msg);
    let message = match prefix {
        Some(p) => format!("{p}: {msg}"),
        None => msg,
    };
    if raw.contains("more than one document")
        && let Some(line) = second_document_line(text)
    {
        return Diagnostic::at(file, line, 1, message);
    }
    match err.location() {
        Some(loc) => Diagnostic::at(file, loc.line(), loc.column(), message),
        None => Diagnostic::new(file, message),
    }
}

/// serde_yaml prefixes a message with the path of the value (`interviewers[0].email: ...`).
fn split_path(msg: &str) -> (Option<&str>, &str) {
    match msg.split_once(": ") {
        Some((p, rest))
            if !p.is_empty()
                && !p.contains(' ')
                && p.chars()
                    .all(|c| c.is_alphanumeric() || "_-.[]".contains(c)) =>
        {
            (Some(p), rest)
        }
        _ => (None, msg),
    }
}

fn advise(msg: &str) -> String {
    // Our raw structs' names mean nothing to the reader.
    if let Some(i) = msg.find("expected struct ") {
        return format!("{}expected a mapping (`key: value` lines)", &msg[..i]);
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        return unknown("field", rest);
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        return unknown("value", rest);
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        return format!("missing field `{name}`: add `{name}:` here, it is required");
    }
    if msg.starts_with("recursion limit exceeded") {
        return "the YAML is nested more than 128 levels deep: no followup file needs that; \
                check the brackets and the indentation"
            .into();
    }
    if msg.starts_with("repetition limit exceeded") {
        return "the aliases (`*name`) expand to more than 100 times the file's size: \
                write the values out instead of nesting aliases"
            .into();
    }
    if msg.contains("more than one document") {
        return "the file holds more than one YAML document (a `---` line): keep one document \
                per file, or put the interviews in one list"
            .into();
    }
    if msg == "unknown anchor" {
        return "this alias (`*name`) refers to an anchor (`&name`) that is not defined above it"
            .into();
    }
    if msg.contains("tab character") {
        return format!("{msg}: indent with spaces, not tabs");
    }
    msg.to_string()
}

/// `X`, expected one of `a`, `b`  /  `X`, expected `a` or `b`  /  `X`, there are no fields
fn unknown(kind: &str, rest: &str) -> String {
    let Some((name, expected)) = rest.split_once('`') else {
        return format!("unknown {kind} `{rest}");
    };
    let known: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    if known.is_empty() {
        return format!("unknown {kind} `{name}`: nothing is expected here; remove it");
    }
    let list = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match closest(name, known.iter().copied()) {
        Some(best) => {
            format!("unknown {kind} `{name}`: did you mean `{best}`? (expected one of {list})")
        }
        None => format!("unknown {kind} `{name}`: expected one of {list}"),
    }
}

/// Removes libyaml's and serde_yaml's "at line N column M" / "at position N" from a message:
/// the position is printed once, in front.
fn strip_positions(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(" at ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let skip = position_len(after);
        if skip == 0 {
            out.push_str(" at ");
            rest = after;
        } else {
            rest = &after[skip..];
        }
    }
    out.push_str(rest);
    out
}

/// The length of a leading `line N column M` or `position N`, else 0.
fn position_len(s: &str) -> usize {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    if let Some(r) = s.strip_prefix("line ") {
        let n = digits(r);
        if n > 0
            && let Some(r2) = r[n..].strip_prefix(" column ")
        {
            let m = digits(r2);
            if m > 0 {
                return "line ".len() + n + " column ".len() + m;
            }
        }
    } else if let Some(r) = s.strip_prefix("position ") {
        let n = digits(r);
        if n > 0 {
            return "position ".len() + n;
        }
    }
    0
}

fn second_document_line(text: &str) -> Option<usize> {
    let mut seen_content = false;
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") {
            if seen_content {
                return Some(i + 1);
            }
        } else if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    None
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let length = word.chars().count();
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        // Lengths further apart than the limit are further apart in edits too: a long value
        // costs no comparison with every name (an edit distance is quadratic).
        .filter(|c| c.chars().count().abs_diff(length) <= limit)
        // Edit distance with a swap of two neighbours as one edit (the commonest typo: `tilte`).
        .map(|c| (strsim::osa_distance(&word, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The shape of a node, from the first pass. Walking the whole document catches duplicate keys
/// anywhere, with the position of the second occurrence, before the typed parse.
enum Node {
    Null,
    Scalar,
    Seq,
    Map,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // A tagged value (`!tag x`): walk its content too.
        let (IgnoredAny, variant) = data.variant()?;
        de::VariantAccess::newtype_variant::<Node>(variant)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        while seq.next_element::<Node>()?.is_some() {}
        Ok(Node::Seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut seen = HashSet::new();
        while map.next_key_seed(UniqueKey(&mut seen))?.is_some() {
            map.next_value::<Node>()?;
        }
        Ok(Node::Map)
    }
}

/// A map key, failing (at the key's own position) if the map already has it.
struct UniqueKey<'a>(&'a mut HashSet<String>);

impl<'de> DeserializeSeed<'de> for UniqueKey<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(KeyText(Some(self.0)))
    }
}

/// The text of a scalar key; `None` (after walking it) for a complex key. With a set of the keys
/// seen so far, a repeated key is an error raised while serde_yaml still knows its position.
struct KeyText<'a>(Option<&'a mut HashSet<String>>);

impl KeyText<'_> {
    fn key<E: de::Error>(self, k: String) -> Result<Option<String>, E> {
        if let Some(seen) = self.0
            && !seen.insert(k.clone())
        {
            return Err(E::custom(format!(
                "duplicate key `{k}`: each key may appear once in a mapping; \
                 remove or rename one of them"
            )));
        }
        Ok(Some(k))
    }
}

impl<'de> Visitor<'de> for KeyText<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.key(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.key(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.key(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.key(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.key(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.key("null".into())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.key("null".into())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        NodeVisitor.visit_seq(seq).map(|_| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        NodeVisitor.visit_map(map).map(|_| None)
    }
}

/// One step of a path into a document: a key of a mapping or an index into a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Marks the error raised on purpose at the node [`locate`] looks for.
const HERE: &str = "\u{1}followup-locate";

/// The 1-based line and column of the value at `path`, for problems found after parsing
/// (cross-field checks). It re-reads the document and raises an error on purpose at the node, so
/// serde_yaml reports where the node is. `None` if the path is not in the document.
pub fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(text);
    match Seek(path).deserialize(de) {
        Err(e) if e.to_string().contains(HERE) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

/// A diagnostic at the value at `path`, or about the whole file when it cannot be found.
pub fn at(file: &Path, text: &str, path: &[Seg], message: impl Into<String>) -> Diagnostic {
    match locate(text, path) {
        Some((line, column)) => Diagnostic::at(file, line, column, message),
        None => Diagnostic::new(file, message),
    }
}

/// Where each key's value sits in a document, recorded once when the document is loaded, so that
/// a later stage (the SMTP and IMAP settings) places its problems without reading the file again.
/// Holds every key of the top-level mapping and of the mappings directly under it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions(BTreeMap<Vec<String>, (usize, usize)>);

impl Positions {
    /// The positions of the keys of `text` down to two levels (`smtp`, `smtp.host`). Found as
    /// [`locate`] finds them; only called on a document that has parsed.
    pub fn record(text: &str) -> Self {
        let mut found = BTreeMap::new();
        let Ok(serde_yaml::Value::Mapping(top)) = serde_yaml::from_str(text) else {
            return Self(found);
        };
        for (key, value) in &top {
            let Some(key) = key.as_str() else { continue };
            let mut place = |path: &[&str]| {
                let segs: Vec<Seg> = path.iter().map(|k| Seg::Key(k)).collect();
                if let Some(at) = locate(text, &segs) {
                    found.insert(path.iter().map(|k| k.to_string()).collect(), at);
                }
            };
            place(&[key]);
            if let serde_yaml::Value::Mapping(inner) = value {
                for inner_key in inner.keys().filter_map(serde_yaml::Value::as_str) {
                    place(&[key, inner_key]);
                }
            }
        }
        Self(found)
    }

    /// The 1-based line and column of the value at `path`, when the document has that key.
    pub fn get(&self, path: &[&str]) -> Option<(usize, usize)> {
        let key: Vec<String> = path.iter().map(|k| k.to_string()).collect();
        self.0.get(&key).copied()
    }

    /// A diagnostic in `file` at the value at `path`, or about the whole file when the document
    /// has no such key: what [`at`] gives, without the text.
    pub fn at(&self, file: &Path, path: &[&str], message: impl Into<String>) -> Diagnostic {
        match self.get(path) {
            Some((line, column)) => Diagnostic::at(file, line, column, message),
            None => Diagnostic::new(file, message),
        }
    }
}

struct Seek<'p>(&'p [Seg<'p>]);

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.0.split_first() {
            None => d.deserialize_any(Here),
            Some((first, rest)) => d.deserialize_any(SeekVisitor(*first, rest)),
        }
    }
}

/// Accepts nothing, so serde_yaml raises an error at the node being visited.
struct Here;

impl Visitor<'_> for Here {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(HERE)
    }
}

struct SeekVisitor<'p>(Seg<'p>, &'p [Seg<'p>]);

impl<'de> Visitor<'de> for SeekVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping or a list")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Seg::Key(want) = self.0 else {
            return Ok(());
        };
        while let Some(key) = map.next_key_seed(Key)? {
            if key.as_deref() == Some(want) {
                return map.next_value_seed(Seek(self.1));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Seg::Index(want) = self.0 else {
            return Ok(());
        };
        for _ in 0..want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek(self.1)).map(|_| ())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(KeyText(None))
    }
}

/// Deserializes a scalar through `parse`, so that its error carries the scalar's position
/// (an error raised after `deserialize_str` returns would be placed at the enclosing mapping).
pub(crate) fn scalar<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<T>(&'static str, fn(&str) -> Result<T, String>, PhantomData<T>);
    impl<T> Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.1)(v).map_err(E::custom)
        }
    }
    // serde_yaml hands any scalar (`42`, `true`) to `deserialize_str` as its text.
    d.deserialize_str(V(expecting, parse, PhantomData))
}

macro_rules! scalar_type {
    ($(#[$doc:meta])* $name:ident($inner:ty), $expecting:literal, $parse:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                scalar(d, $expecting, $parse).map($name)
            }
        }
    };
}

scalar_type!(
    /// A one-line, non-empty text: names, titles, companies. A line break or control character
    /// in one of these could end up in a mail header.
    Text(String),
    "a line of text",
    parse_text
);
scalar_type!(
    /// A person's name, as it goes before their address in a header: a [`Text`] that does not
    /// read as an address or as MIME encoding.
    PersonName(String),
    "a person's name",
    parse_person_name
);
scalar_type!(
    /// A bare e-mail address.
    Address(EmailAddress),
    "an e-mail address like jane@example.com",
    |s| EmailAddress::parse(s).map_err(|e| e.to_string())
);
scalar_type!(
    /// An IANA time zone.
    Zone(Tz),
    "an IANA time zone name like Europe/Berlin",
    crate::input::zone::parse
);
scalar_type!(
    /// A calendar date, `YYYY-MM-DD`.
    Date(NaiveDate),
    "a date like 2026-03-14",
    parse_date
);
scalar_type!(
    /// A duration such as `2h` or `7d`.
    Delay(TimeDelta),
    "a duration like 2h or 7d",
    parse_delay
);
scalar_type!(
    /// A path as written; resolved by the caller against the file's directory.
    PathText(PathBuf),
    "a path",
    |s| {
        if s.trim().is_empty() {
            Err("the path is empty: write a path or remove the key".into())
        } else {
            Ok(PathBuf::from(s.trim()))
        }
    }
);

fn parse_text(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("this is empty: write a value or remove the key".into());
    }
    if t.chars().any(char::is_control) {
        return Err(format!(
            "`{}` holds a line break or a control character: keep it on one line",
            t.escape_debug()
        ));
    }
    Ok(t.to_string())
}

fn parse_person_name(s: &str) -> Result<String, String> {
    let name = parse_text(s)?;
    match crate::core::display_name_problem(&name) {
        Some(problem) => Err(format!(
            "`{name}`: {problem}; write only the person's name here (an address goes in `email:`)"
        )),
        None => Ok(name),
    }
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| format!("`{t}` is not a date: write it like 2026-03-14 (YYYY-MM-DD)"))
}

/// Resolves a path from a file against the directory of that file; `~/` is the home directory.
pub fn resolve(base: &Path, p: &Path, home: Option<&Path>) -> PathBuf {
    if let (Ok(rest), Some(home)) = (p.strip_prefix("~"), home) {
        return home.join(rest);
    }
    base.join(p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A small record shape for the parsing tests (here and in `unique_keys`).
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct Probe {
        pub(crate) name: String,
        #[serde(default)]
        pub(crate) notes: BTreeMap<String, String>,
        #[serde(default)]
        pub(crate) list: Vec<IgnoredAny>,
        #[serde(default)]
        pub(crate) maybe: Option<BTreeMap<String, String>>,
    }

    fn err(text: &str) -> Diagnostic {
        parse::<Probe>(text, Path::new("t.yaml"), "a probe").unwrap_err()
    }

    #[test]
    fn duplicate_struct_field_is_an_error_at_the_second_key() {
        let d = err("name: a\nlist: []\nname: b\n");
        assert_eq!((d.line, d.column), (Some(3), Some(1)));
        assert!(d.message.contains("duplicate key `name`"), "{}", d.message);
    }

    #[test]
    fn duplicate_map_key_is_an_error_at_the_second_key() {
        // Typed alone, serde_yaml would keep the last `x` silently.
        let d = err("name: a\nnotes:\n  x: 1\n  x: 2\n");
        assert_eq!((d.line, d.column), (Some(4), Some(3)));
        assert!(d.message.contains("duplicate key `x`"), "{}", d.message);
    }

    #[test]
    fn syntax_error_has_line_and_no_repeated_position() {
        let d = err("name: a\n  b: : c\n");
        assert_eq!(d.line, Some(2));
        assert!(!d.message.contains(" at line"), "{}", d.message);
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        let n = 100_000;
        let text = format!("name: a\nlist: {}{}\n", "[".repeat(n), "]".repeat(n));
        let start = std::time::Instant::now();
        let d = err(&text);
        assert!(
            d.message.contains("nest more than 100 levels"),
            "{}",
            d.message
        );
        assert_eq!((d.line, d.column), (Some(2), Some(107)));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn deep_block_nesting_hits_the_parser_limit() {
        let text: String = (0..200).map(|i| format!("{}- \n", " ".repeat(i))).collect();
        let text = format!("name: a\nlist:\n{text}");
        let d = err(&text);
        assert!(
            d.message.contains("nested more than 128 levels"),
            "{}",
            d.message
        );
        assert_eq!(d.line, Some(130));
    }

    #[test]
    fn billion_laughs_aliases_are_refused() {
        let mut text =
            String::from("name: a\nlist:\n  - &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let p = w[0];
            text.push_str(&format!(
                "  - &{} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n",
                w[1]
            ));
        }
        let start = std::time::Instant::now();
        let d = err(&text);
        assert!(d.message.contains("aliases"), "{}", d.message);
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn more_than_one_document_points_at_the_separator() {
        let d = err("name: a\n---\nname: b\n");
        assert_eq!(d.line, Some(2));
        assert!(
            d.message.contains("more than one YAML document"),
            "{}",
            d.message
        );
    }

    #[test]
    fn comment_only_file_is_empty() {
        let d = err("# nothing yet\n\n");
        assert!(d.message.contains("the file is empty"), "{}", d.message);
    }

    #[test]
    fn locate_finds_nested_values() {
        let text = "a: 1\nb:\n  - x: 1\n  - x: 2\n    y: [3, 4]\n";
        assert_eq!(locate(text, &[Seg::Key("a")]), Some((1, 4)));
        assert_eq!(locate(text, &[Seg::Key("b"), Seg::Index(1)]), Some((4, 5)));
        let y1 = [Seg::Key("b"), Seg::Index(1), Seg::Key("y"), Seg::Index(1)];
        assert_eq!(locate(text, &y1), Some((5, 12)));
        assert_eq!(locate(text, &[Seg::Key("c")]), None);
    }

    #[test]
    fn oversized_file_is_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.yaml");
        std::fs::write(&p, vec![b'#'; MAX_BYTES as usize + 1]).unwrap();
        let d = read(&p).unwrap_err();
        assert!(d.message.contains("more than the limit"), "{}", d.message);
    }

    #[test]
    fn non_utf8_file_is_an_error_at_the_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("latin1.yaml");
        std::fs::write(&p, b"name: a\ncompany: M\xfcller\n").unwrap();
        let d = read(&p).unwrap_err();
        assert_eq!((d.line, d.column), (Some(2), Some(11)));
        assert!(d.message.contains("not UTF-8"), "{}", d.message);
    }

    /// Files with one problem each, read by `parse` and `parse_once`.
    const ONE_PROBLEM: &[&str] = &[
        "name: a\nlist: []\nname: b\n",
        "name: a\nnotes:\n  x: 1\n  x: 2\n",
        "name: a\nlist:\n  - {k: 1, k: 2}\n",
        "name: a\nlist:\n  - ? [1, {z: 1, z: 2}]\n    : 3\n",
        "name: a\nnotes:\n  1: x\n  1: y\n",
        "name: a\nnotes:\n  ~: x\n  null: y\n",
        "name: a\n  b: : c\n",
        "name: a\n---\nname: b\n",
        "# nothing yet\n\n",
        "",
        "~\n",
        "name: a\nnmae: b\n",
        "list: []\n",
        "- name: a\n",
        "name: [a\n",
    ];

    #[test]
    fn one_pass_parse_reports_what_the_two_pass_parse_reports() {
        for text in ONE_PROBLEM {
            let file = Path::new("t.yaml");
            let twice = parse::<Probe>(text, file, "a probe").unwrap_err();
            let once = parse_once::<Probe>(text, file, "a probe").unwrap_err();
            assert_eq!(
                (once.line, once.column, &once.message),
                (twice.line, twice.column, &twice.message),
                "{text:?}"
            );
        }
    }

    #[test]
    fn one_pass_parse_keeps_a_good_file() {
        let text = "name: a\nnotes:\n  x: 1\n  y: 2\nlist: [{a: 1}, {a: 2}]\n";
        let p = parse_once::<Probe>(text, Path::new("t.yaml"), "a probe").unwrap();
        assert_eq!(p.name, "a");
        assert_eq!(p.notes.len(), 2);
        assert_eq!(p.list.len(), 2);
    }

    #[test]
    fn closest_suggests_typos_only() {
        let fields = ["interviewers", "company", "position"];
        assert_eq!(closest("interviewrs", fields), Some("interviewers"));
        assert_eq!(closest("salary", fields), None);
    }
}
