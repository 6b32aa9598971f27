//! The parsed tree: values with their positions, maps that keep their keys in file order.

use rustc_hash::FxHashMap;

use super::Position;

/// One value of the config, where it starts, and whether a `$reference` used it.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub position: Position,
    /// Set on a definition that a later `$name` read. nats-server does not report such a key
    /// as unknown: it was a variable, not a setting.
    used_as_variable: bool,
}

impl Value {
    pub(crate) fn new(kind: ValueKind, position: Position) -> Value {
        Value {
            kind,
            position,
            used_as_variable: false,
        }
    }

    pub fn is_used_as_variable(&self) -> bool {
        self.used_as_variable
    }

    pub(crate) fn mark_used_as_variable(&mut self) {
        self.used_as_variable = true;
    }

    /// The Go type nats-server would see for this value (`%T`), for error texts that name it.
    pub fn go_type_name(&self) -> &'static str {
        match self.kind {
            ValueKind::String(_) => "string",
            ValueKind::Integer(_) => "int64",
            ValueKind::Float(_) => "float64",
            ValueKind::Bool(_) => "bool",
            ValueKind::Datetime(_) => "time.Time",
            ValueKind::Array(_) => "[]interface {}",
            ValueKind::Map(_) => "map[string]interface {}",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self.kind {
            ValueKind::Integer(number) => Some(number),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            ValueKind::Bool(flag) => Some(flag),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match &self.kind {
            ValueKind::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::Array(values) => Some(values),
            _ => None,
        }
    }

    /// Values in this tree (this one included), counting no further than `limit`.
    pub(crate) fn count_values(&self, limit: usize) -> usize {
        let mut count = 0;
        let mut pending = vec![self];
        while let Some(value) = pending.pop() {
            count += 1;
            if count > limit {
                break;
            }
            match &value.kind {
                ValueKind::Array(values) => pending.extend(values),
                ValueKind::Map(map) => pending.extend(map.entries.iter().map(|e| &e.value)),
                _ => {}
            }
        }
        count
    }

    /// Levels of maps and arrays in this tree: 0 for a scalar, 1 for a flat map.
    pub(crate) fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut pending = vec![(self, 0)];
        while let Some((value, depth)) = pending.pop() {
            deepest = deepest.max(depth);
            match &value.kind {
                ValueKind::Array(values) => pending.extend(values.iter().map(|v| (v, depth + 1))),
                ValueKind::Map(map) => {
                    pending.extend(map.entries.iter().map(|e| (&e.value, depth + 1)))
                }
                _ => {}
            }
        }
        deepest
    }

    /// Moves this whole tree to `position`: values read from an environment variable have no
    /// place of their own in a file, so they all point at the `$reference`.
    pub(crate) fn relocate(&mut self, position: &Position) {
        let mut pending = vec![self];
        while let Some(value) = pending.pop() {
            value.position = position.clone();
            match &mut value.kind {
                ValueKind::Array(values) => pending.extend(values.iter_mut()),
                ValueKind::Map(map) => {
                    for entry in &mut map.entries {
                        entry.key_position = position.clone();
                        pending.push(&mut entry.value);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The types nats-server's parser produces.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Datetime(Datetime),
    Array(Vec<Value>),
    Map(Map),
}

/// A Zulu datetime (`2016-05-04T18:53:41Z`), checked as Go's `time.Parse` checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datetime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// One `key: value` of a map, with where the key was written (nats-server reports errors about
/// a setting at its key).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_position: Position,
    pub value: Value,
}

/// A map in file order. Keys are case-sensitive here, as in nats-server's parser (its option
/// processing lower-cases them); a key set twice keeps its first place and its last value.
#[derive(Clone, Debug, Default)]
pub struct Map {
    entries: Vec<Entry>,
    index: FxHashMap<String, usize>,
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.entries == other.entries
    }
}

impl Map {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).and_then(|&i| self.entries.get(i))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entry(key).map(|entry| &entry.value)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = *self.index.get(key)?;
        self.entries.get_mut(i).map(|entry| &mut entry.value)
    }

    pub(crate) fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    /// Sets `entry.key`, replacing an earlier value of the same key in its place.
    pub(crate) fn insert(&mut self, entry: Entry) {
        match self.index.get(&entry.key).copied() {
            Some(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = entry;
                }
            }
            None => {
                self.index.insert(entry.key.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
