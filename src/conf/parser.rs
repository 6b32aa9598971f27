//! The parser: folds the lexer's items into maps and arrays, the way nats-server's
//! conf/parse.go does: a stack of open maps and arrays, and a separate stack of keys waiting
//! for their values. Keeping the two stacks separate is what makes `a { b }` come out as
//! nats-server reads it (the key `b` takes the map as its value, `a` is left waiting).
//!
//! Variables are looked up in the open maps, innermost first, and then in the environment
//! (whose values are parsed as config values, with a cycle check); includes are parsed with a
//! parser of their own (so they do not see the includer's variables) and merged into the map
//! being built.

use std::sync::Arc;

use super::lexer::{Item, ItemKind, Lexer};
use super::path::{go_path_dir, go_path_join};
use super::value::{Datetime, Entry, Map, Value, ValueKind};
use super::{
    ConfError, ConfSource, Position, ENV_DEPTH_MAX, INCLUDE_DEPTH_MAX, INCLUDE_FILES_MAX,
    NESTING_DEPTH_MAX, VALUES_MAX,
};

/// The key nats-server parses an environment variable's value under (`pk=<value>`).
const ENV_KEY: &str = "pk";
/// A `$` reference starting with this is a bcrypt hash (`$2a$11$...`), kept as a string so
/// that hashed passwords need no quotes.
const BCRYPT_PREFIX: &str = "2a$";

/// State shared by a parse and the parses it starts for includes and environment variables.
pub(crate) struct Session<'s> {
    source: &'s dyn ConfSource,
    /// Environment variables being expanded, innermost last: a repeat is a cycle.
    env_references: Vec<String>,
    include_depth: usize,
    includes_read: usize,
    values: usize,
}

impl<'s> Session<'s> {
    pub(crate) fn new(source: &'s dyn ConfSource) -> Session<'s> {
        Session {
            source,
            env_references: Vec::new(),
            include_depth: 0,
            includes_read: 0,
            values: 0,
        }
    }
}

/// Parses one file's text. `base_depth` is how deep its top-level map sits in the final tree,
/// less one (an included file's keys land in the including map).
pub(crate) fn parse_file(
    session: &mut Session<'_>,
    text: &str,
    file: &str,
    base_depth: usize,
) -> Result<Map, ConfError> {
    let file: Arc<str> = Arc::from(file);
    let mut parser = Parser {
        session,
        lexer: Lexer::new(text),
        text,
        dir: go_path_dir(&file),
        line_starts: line_starts(text),
        contexts: Vec::new(),
        keys: Vec::new(),
        base_depth,
        file,
    };
    let root = parser.position(0);
    parser.contexts.push(Context::Map(Map::default(), root));
    parser.run()
}

/// An open map or array, with where it began.
enum Context {
    Map(Map, Position),
    Array(Vec<Value>, Position),
}

struct Parser<'p, 's> {
    session: &'p mut Session<'s>,
    lexer: Lexer<'p>,
    text: &'p str,
    file: Arc<str>,
    /// The file's directory, for its includes.
    dir: String,
    line_starts: Vec<usize>,
    contexts: Vec<Context>,
    keys: Vec<(String, Position)>,
    base_depth: usize,
}

impl Parser<'_, '_> {
    fn run(mut self) -> Result<Map, ConfError> {
        // A key as the last item has no value: nats-server calls that config invalid, except
        // for a stray `}` (a JSON-style file's closing brace can lex as a key).
        let mut dangling_key = false;
        loop {
            let item = self.lexer.next_item();
            if item.kind == ItemKind::Eof {
                if dangling_key {
                    return Err(self.error_at(item.offset, "config is invalid".to_owned()));
                }
                break;
            }
            dangling_key = item.kind == ItemKind::Key && item.text != b"}";
            self.process(item)?;
        }
        match self.contexts.into_iter().next() {
            Some(Context::Map(map, _)) => Ok(map),
            _ => Err(ConfError {
                position: Position {
                    file: self.file,
                    line: 1,
                    column: 1,
                },
                message: "BUG in parser: no top-level map".to_owned(),
            }),
        }
    }

    fn process(&mut self, item: Item) -> Result<(), ConfError> {
        let position = self.position(item.offset);
        let text = String::from_utf8_lossy(&item.text).into_owned();
        let kind = match item.kind {
            ItemKind::Error => {
                return Err(ConfError {
                    position,
                    message: text,
                })
            }
            ItemKind::Eof | ItemKind::Comment => return Ok(()),
            ItemKind::Key => {
                self.keys.push((text, position));
                return Ok(());
            }
            ItemKind::MapStart => return self.open(Context::Map(Map::default(), position)),
            ItemKind::ArrayStart => return self.open(Context::Array(Vec::new(), position)),
            ItemKind::MapEnd | ItemKind::ArrayEnd => return self.close(&position),
            ItemKind::Variable => return self.variable(text, position),
            ItemKind::Include => return self.include(&text, position),
            ItemKind::String => match String::from_utf8(item.text) {
                Ok(text) => ValueKind::String(text),
                Err(_) => {
                    let message = "string is not valid UTF-8 after decoding its \\x escapes";
                    return Err(ConfError {
                        position,
                        message: message.to_owned(),
                    });
                }
            },
            ItemKind::Bool => ValueKind::Bool(text.eq_ignore_ascii_case("true") || is_yes(&text)),
            ItemKind::Integer => {
                ValueKind::Integer(parse_integer(&text).map_err(|message| ConfError {
                    position: position.clone(),
                    message,
                })?)
            }
            ItemKind::Float => {
                ValueKind::Float(parse_float(&text).map_err(|message| ConfError {
                    position: position.clone(),
                    message,
                })?)
            }
            ItemKind::Datetime => {
                ValueKind::Datetime(parse_datetime(&text).ok_or_else(|| ConfError {
                    position: position.clone(),
                    message: format!("expected Zulu formatted DateTime, but got '{text}'"),
                })?)
            }
        };
        self.count_values(1, &position)?;
        self.place(Value::new(kind, position))
    }

    // --- Building the tree --------------------------------------------------------------------

    /// Levels of maps and arrays open in the final tree, the top-level map being level 1.
    fn depth(&self) -> usize {
        self.base_depth + self.contexts.len()
    }

    fn open(&mut self, context: Context) -> Result<(), ConfError> {
        if self.depth() >= NESTING_DEPTH_MAX {
            let position = match &context {
                Context::Map(_, position) | Context::Array(_, position) => position.clone(),
            };
            return Err(too_deep(position));
        }
        self.contexts.push(context);
        Ok(())
    }

    fn close(&mut self, position: &Position) -> Result<(), ConfError> {
        // The lexer balances brackets, so the top-level map is never closed.
        if self.contexts.len() < 2 {
            return Err(ConfError {
                position: position.clone(),
                message: "BUG in parser, context stack empty".to_owned(),
            });
        }
        let value = match self.contexts.pop() {
            Some(Context::Map(map, start)) => Value::new(ValueKind::Map(map), start),
            Some(Context::Array(values, start)) => Value::new(ValueKind::Array(values), start),
            None => return Ok(()),
        };
        self.count_values(1, position)?;
        self.place(value)
    }

    /// Adds `value` to the open array, or to the open map under the last key waiting.
    fn place(&mut self, value: Value) -> Result<(), ConfError> {
        match self.contexts.last_mut() {
            Some(Context::Array(values, _)) => values.push(value),
            Some(Context::Map(map, _)) => {
                let Some((key, key_position)) = self.keys.pop() else {
                    return Err(ConfError {
                        position: value.position,
                        message: "BUG in parser, keys stack empty".to_owned(),
                    });
                };
                map.insert(Entry {
                    key,
                    key_position,
                    value,
                });
            }
            None => {
                return Err(ConfError {
                    position: value.position,
                    message: "BUG in parser, context stack empty".to_owned(),
                })
            }
        }
        Ok(())
    }

    fn count_values(&mut self, count: usize, position: &Position) -> Result<(), ConfError> {
        self.session.values = self.session.values.saturating_add(count);
        if self.session.values > VALUES_MAX {
            return Err(ConfError {
                position: position.clone(),
                message: format!("config has more than {VALUES_MAX} values"),
            });
        }
        Ok(())
    }

    // --- Variables ----------------------------------------------------------------------------

    fn variable(&mut self, name: String, position: Position) -> Result<(), ConfError> {
        if name.starts_with(BCRYPT_PREFIX) {
            self.count_values(1, &position)?;
            return self.place(Value::new(ValueKind::String(format!("${name}")), position));
        }
        if let Some(found) = self.lookup_block(&name, &position)? {
            return self.place(found);
        }
        match self.lookup_env(&name, &position)? {
            Some(found) => self.place(found),
            None => {
                let line = position.line;
                Err(ConfError {
                    position,
                    message: format!(
                        "variable reference for '{name}' on line {line} can not be found"
                    ),
                })
            }
        }
    }

    /// `name` in the open maps, innermost first (arrays have no names). The definition is
    /// marked used; the copy placed at the reference is not (it is a setting of its own).
    fn lookup_block(
        &mut self,
        name: &str,
        position: &Position,
    ) -> Result<Option<Value>, ConfError> {
        let depth = self.depth();
        let budget = VALUES_MAX.saturating_sub(self.session.values);
        let mut found = None;
        for context in self.contexts.iter_mut().rev() {
            if let Context::Map(map, _) = context {
                if let Some(definition) = map.get_mut(name) {
                    definition.mark_used_as_variable();
                    if depth + definition.depth() > NESTING_DEPTH_MAX {
                        return Err(too_deep(position.clone()));
                    }
                    let count = definition.count_values(budget);
                    found = Some((definition.kind.clone(), count));
                    break;
                }
            }
        }
        let Some((kind, count)) = found else {
            return Ok(None);
        };
        self.count_values(count, position)?;
        Ok(Some(Value::new(kind, position.clone())))
    }

    /// `name` in the environment, its value parsed as a config value would be.
    fn lookup_env(&mut self, name: &str, position: &Position) -> Result<Option<Value>, ConfError> {
        let unparsable = |reason: &str| ConfError {
            position: position.clone(),
            message: format!(
                "variable reference for '{name}' on line {} could not be parsed: {reason}",
                position.line
            ),
        };
        if self.session.env_references.iter().any(|seen| seen == name) {
            return Err(unparsable(&format!(
                "variable reference cycle for '{name}'"
            )));
        }
        let Some(text) = self.session.source.env(name) else {
            return Ok(None);
        };
        if self.session.env_references.len() >= ENV_DEPTH_MAX {
            return Err(unparsable(&format!(
                "variables nested deeper than {ENV_DEPTH_MAX} levels"
            )));
        }
        self.session.env_references.push(name.to_owned());
        let parsed = parse_file(
            self.session,
            &format!("{ENV_KEY}={text}"),
            "",
            self.depth().saturating_sub(1),
        );
        self.session.env_references.pop();
        let map = parsed.map_err(|error| unparsable(&error.message))?;
        Ok(map.get(ENV_KEY).map(|value| {
            let mut value = value.clone();
            value.relocate(position);
            value
        }))
    }

    // --- Includes -----------------------------------------------------------------------------

    fn include(&mut self, name: &str, position: Position) -> Result<(), ConfError> {
        let failed = |reason: String| ConfError {
            position: position.clone(),
            message: format!("error parsing include file '{name}', {reason}"),
        };
        if self.session.include_depth >= INCLUDE_DEPTH_MAX {
            return Err(failed(format!(
                "includes nested deeper than {INCLUDE_DEPTH_MAX} files"
            )));
        }
        if self.session.includes_read >= INCLUDE_FILES_MAX {
            return Err(failed(format!(
                "more than {INCLUDE_FILES_MAX} files included"
            )));
        }
        self.session.includes_read += 1;
        let path = go_path_join(&self.dir, name);
        let text = self.session.source.read_include(&path).map_err(failed)?;
        self.session.include_depth += 1;
        let parsed = parse_file(self.session, &text, &path, self.depth().saturating_sub(1));
        self.session.include_depth -= 1;
        for entry in parsed?.into_entries() {
            self.keys.push((entry.key, entry.key_position));
            self.place(entry.value)?;
        }
        Ok(())
    }

    // --- Positions ----------------------------------------------------------------------------

    fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self
            .line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        let before = self
            .text
            .as_bytes()
            .get(line_start..offset)
            .unwrap_or_default();
        // Columns count characters: every byte but UTF-8 continuation bytes starts one.
        let column = before.iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
        Position {
            file: self.file.clone(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    fn error_at(&self, offset: usize, message: String) -> ConfError {
        ConfError {
            position: self.position(offset),
            message,
        }
    }
}

fn too_deep(position: Position) -> ConfError {
    ConfError {
        position,
        message: format!("nesting deeper than {NESTING_DEPTH_MAX} levels"),
    }
}

/// Byte offsets where lines start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn is_yes(text: &str) -> bool {
    text.eq_ignore_ascii_case("yes") || text.eq_ignore_ascii_case("on")
}

/// An integer item: digits with an optional `-`, and an optional size suffix. Decimal suffixes
/// (`k`, `m`, `g`, `t`, `p`, `e`) are powers of 1000, binary ones (`kb`, `ki`, `kib`, ...)
/// powers of 1024, as in nats-server.
fn parse_integer(text: &str) -> Result<i64, String> {
    let digits = text
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'-')
        .count();
    let (number, suffix) = text.split_at(digits);
    let number: i64 = number.parse().map_err(|error: std::num::ParseIntError| {
        use std::num::IntErrorKind;
        match error.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                format!("integer '{text}' is out of the range")
            }
            _ => format!("expected integer, but got '{text}'"),
        }
    })?;
    let suffix = suffix.trim().to_ascii_lowercase();
    let (base, power): (i64, u32) = match suffix.as_str() {
        "" => (1, 0),
        "k" => (1000, 1),
        "kb" | "ki" | "kib" => (1024, 1),
        "m" => (1000, 2),
        "mb" | "mi" | "mib" => (1024, 2),
        "g" => (1000, 3),
        "gb" | "gi" | "gib" => (1024, 3),
        "t" => (1000, 4),
        "tb" | "ti" | "tib" => (1024, 4),
        "p" => (1000, 5),
        "pb" | "pi" | "pib" => (1024, 5),
        "e" => (1000, 6),
        "eb" | "ei" | "eib" => (1024, 6),
        // nats-server drops the value silently here; an error is kinder.
        _ => return Err(format!("expected integer, but got '{text}'")),
    };
    base.checked_pow(power)
        .and_then(|multiplier| number.checked_mul(multiplier))
        .ok_or_else(|| format!("integer '{text}' is out of the range"))
}

fn parse_float(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        Ok(_) => Err(format!("float '{text}' is out of the range")),
        Err(_) => Err(format!("expected float, but got '{text}'")),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (the lexer checked the shape), with the ranges Go's `time.Parse`
/// checks.
fn parse_datetime(text: &str) -> Option<Datetime> {
    let field = |range: std::ops::Range<usize>| -> Option<u16> { text.get(range)?.parse().ok() };
    let datetime = Datetime {
        year: field(0..4)?,
        month: u8::try_from(field(5..7)?).ok()?,
        day: u8::try_from(field(8..10)?).ok()?,
        hour: u8::try_from(field(11..13)?).ok()?,
        minute: u8::try_from(field(14..16)?).ok()?,
        second: u8::try_from(field(17..19)?).ok()?,
    };
    let valid = (1..=12).contains(&datetime.month)
        && datetime.day >= 1
        && datetime.day <= days_in_month(datetime.year, datetime.month)
        && datetime.hour < 24
        && datetime.minute < 60
        && datetime.second < 60;
    valid.then_some(datetime)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
