//! The lexer: a state machine with a stack of states to return to, the shape of nats-server's
//! conf/lex.go, so that every context (top level, `{ }`-wrapped top level, maps, arrays) ends
//! values and skips comments exactly where nats-server does. Each state reads a character or
//! two, may emit an item, and names the next state.
//!
//! End of input reads as the character `'\0'`, as in Go's lexer; a NUL in the input therefore
//! ends the input in most states, as it does in nats-server.

use std::collections::VecDeque;

use super::NESTING_DEPTH_MAX;

/// Read at the end of the input (and for a NUL in it).
const EOF: char = '\0';
/// States a lexer may stack: one per open map or array, plus the top level, a pending include
/// and a comment.
const STACK_DEPTH_MAX: usize = NESTING_DEPTH_MAX + 4;
/// State steps per input byte before the lexer gives up: every state but a few consumes a
/// character, so a lexer over this budget is looping, which is a bug to report, not hang on.
const STEPS_PER_BYTE_MAX: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemKind {
    Error,
    Eof,
    Key,
    Comment,
    String,
    Bool,
    Integer,
    Float,
    Datetime,
    ArrayStart,
    ArrayEnd,
    MapStart,
    MapEnd,
    Variable,
    Include,
}

/// One lexed item: its text (raw bytes: `\x` escapes may produce any byte) and the byte offset
/// where it starts (for an error, where the lexer stopped).
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub kind: ItemKind,
    pub text: Vec<u8>,
    pub offset: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Top,
    TopValueEnd,
    BlockStart,
    BlockValueEnd,
    BlockEnd,
    KeyStart,
    QuotedKey(char),
    Key,
    KeyEnd,
    IncludeStart,
    Include,
    IncludeQuoted(char),
    IncludeBare,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    MapKeyStart,
    MapQuotedKey(char),
    MapKey,
    MapKeyEnd,
    MapValue,
    MapValueEnd,
    MapEnd,
    SingleQuoted,
    DoubleQuoted,
    Bare,
    Block,
    Escape,
    HexEscape,
    Number,
    Suffix,
    DateAfterYear,
    NegativeStart,
    Negative,
    FloatStart,
    Float,
    IpAddress,
    Comment,
}

pub(crate) struct Lexer<'a> {
    input: &'a str,
    /// Start of the pending text (moves past escapes as they are decoded).
    start: usize,
    /// Where the pending item began, for its position.
    item_start: usize,
    pos: usize,
    /// Bytes of the last character read, so that `backup` can step back over it.
    width: usize,
    /// Where the last character read began: errors point there.
    last: usize,
    state: Option<State>,
    stack: Vec<State>,
    /// Decoded text of a string with escapes, up to `start`.
    parts: Vec<u8>,
    has_parts: bool,
    /// The string state an escape returns to (double-quoted or bare).
    string_state: State,
    items: VecDeque<Item>,
    steps_left: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str) -> Lexer<'a> {
        Lexer {
            input,
            start: 0,
            item_start: 0,
            pos: 0,
            width: 0,
            last: 0,
            state: Some(State::Top),
            stack: Vec::new(),
            parts: Vec::new(),
            has_parts: false,
            string_state: State::Bare,
            items: VecDeque::new(),
            steps_left: input
                .len()
                .saturating_add(1)
                .saturating_mul(STEPS_PER_BYTE_MAX),
        }
    }

    /// The next item. After an `Error` or `Eof` item, every call returns `Eof`.
    pub(crate) fn next_item(&mut self) -> Item {
        loop {
            if let Some(item) = self.items.pop_front() {
                return item;
            }
            let Some(state) = self.state.take() else {
                return Item {
                    kind: ItemKind::Eof,
                    text: Vec::new(),
                    offset: self.pos,
                };
            };
            self.state = if self.stack.len() > STACK_DEPTH_MAX {
                self.error(&format!("nesting deeper than {NESTING_DEPTH_MAX} levels"))
            } else if self.steps_left == 0 {
                self.error("BUG in lexer: no progress")
            } else {
                self.steps_left -= 1;
                self.step(state)
            };
        }
    }

    // --- Reading ------------------------------------------------------------------------------

    fn next(&mut self) -> char {
        self.last = self.pos;
        let Some(rest) = self.input.get(self.pos..) else {
            // Only a bug could leave `pos` inside a character; read it as one bad byte.
            self.width = 1;
            self.pos += 1;
            return char::REPLACEMENT_CHARACTER;
        };
        match rest.chars().next() {
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                c
            }
            None => {
                self.width = 0;
                EOF
            }
        }
    }

    /// Steps back over the last character read; once per `next`.
    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
    }

    fn peek(&mut self) -> char {
        let c = self.next();
        self.backup();
        c
    }

    /// Drops the pending text: the next item starts here.
    fn ignore(&mut self) {
        self.start = self.pos;
        self.item_start = self.pos;
    }

    fn push(&mut self, state: State) {
        self.stack.push(state);
    }

    fn pop(&mut self) -> Option<State> {
        match self.stack.pop() {
            Some(state) => Some(state),
            None => self.error("BUG in lexer: no states to pop."),
        }
    }

    fn pending(&self) -> &'a [u8] {
        self.input
            .as_bytes()
            .get(self.start..self.pos)
            .unwrap_or_default()
    }

    // --- Emitting -----------------------------------------------------------------------------

    fn emit(&mut self, kind: ItemKind) {
        let mut text = std::mem::take(&mut self.parts);
        text.extend_from_slice(self.pending());
        self.has_parts = false;
        // The end of input is where the lexer stopped (nats-server's "config is invalid" points
        // there); anything else is where its text began.
        let offset = match kind {
            ItemKind::Eof => self.pos,
            _ => self.item_start,
        };
        self.items.push_back(Item { kind, text, offset });
        self.start = self.pos;
        self.item_start = self.pos;
    }

    /// Emits the end of input, or an error if unread text is pending (a key or string cut off).
    fn end_of_input(&mut self) -> Option<State> {
        if self.pos > self.start {
            return self.error("Unexpected EOF.");
        }
        self.emit(ItemKind::Eof);
        None
    }

    /// Emits an error at the last character read and stops.
    fn error(&mut self, message: &str) -> Option<State> {
        self.items.push_back(Item {
            kind: ItemKind::Error,
            text: message.as_bytes().to_vec(),
            offset: self.last.min(self.input.len()),
        });
        None
    }

    /// Keeps the pending text (less the `skip` bytes of a backslash) as decoded string text.
    fn keep_pending(&mut self, skip: usize) {
        let end = self.pos.saturating_sub(skip).max(self.start);
        let bytes = self
            .input
            .as_bytes()
            .get(self.start..end)
            .unwrap_or_default();
        self.parts.extend_from_slice(bytes);
        self.has_parts = true;
        self.start = self.pos;
    }

    fn add_part(&mut self, bytes: &[u8]) -> Option<State> {
        self.parts.extend_from_slice(bytes);
        self.has_parts = true;
        self.start = self.pos;
        Some(self.string_state)
    }

    // --- States -------------------------------------------------------------------------------

    fn step(&mut self, state: State) -> Option<State> {
        match state {
            State::Top => self.top(),
            State::TopValueEnd => self.top_value_end(),
            State::BlockStart => self.block_start(),
            State::BlockValueEnd => self.block_value_end(),
            State::BlockEnd => self.block_end(),
            State::KeyStart => self.key_start(),
            State::QuotedKey(quote) => self.quoted_key(quote),
            State::Key => self.key(),
            State::KeyEnd => self.key_end(),
            State::IncludeStart => self.include_start(),
            State::Include => self.include(),
            State::IncludeQuoted(quote) => self.include_quoted(quote),
            State::IncludeBare => self.include_bare(),
            State::Value => self.value(),
            State::ArrayValue => self.array_value(),
            State::ArrayValueEnd => self.array_value_end(),
            State::ArrayEnd => self.close(ItemKind::ArrayEnd),
            State::MapKeyStart => self.map_key_start(),
            State::MapQuotedKey(quote) => self.map_quoted_key(quote),
            State::MapKey => self.map_key(),
            State::MapKeyEnd => self.map_key_end(),
            State::MapValue => self.map_value(),
            State::MapValueEnd => self.map_value_end(),
            State::MapEnd => self.close(ItemKind::MapEnd),
            State::SingleQuoted => self.single_quoted(),
            State::DoubleQuoted => self.double_quoted(),
            State::Bare => self.bare(),
            State::Block => self.block(),
            State::Escape => self.escape(),
            State::HexEscape => self.hex_escape(),
            State::Number => self.number(),
            State::Suffix => self.suffix(),
            State::DateAfterYear => self.date_after_year(),
            State::NegativeStart => self.negative_start(),
            State::Negative => self.negative(),
            State::FloatStart => self.float_start(),
            State::Float => self.float(),
            State::IpAddress => self.ip_address(),
            State::Comment => self.comment(),
        }
    }

    /// After a `/`: a comment if another `/` follows (returning to `then`), else `None` with
    /// the second character put back.
    fn slash_comment(&mut self, then: State) -> Option<State> {
        if self.next() == '/' {
            self.push(then);
            return Some(self.comment_start());
        }
        self.backup();
        None
    }

    fn comment_start(&mut self) -> State {
        self.ignore();
        State::Comment
    }

    fn comment(&mut self) -> Option<State> {
        let c = self.peek();
        if is_newline(c) || c == EOF {
            self.emit(ItemKind::Comment);
            return self.pop();
        }
        self.next();
        Some(State::Comment)
    }

    /// Top level: a key, a comment, a `{` wrapping the whole file, or the end.
    fn top(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::Top);
        }
        match c {
            '{' => {
                self.push(State::Top);
                self.ignore();
                Some(State::BlockStart)
            }
            '#' => {
                self.push(State::Top);
                Some(self.comment_start())
            }
            '/' => match self.slash_comment(State::Top) {
                Some(state) => Some(state),
                None => self.end_of_input(),
            },
            EOF => self.end_of_input(),
            _ => {
                self.backup();
                self.push(State::TopValueEnd);
                Some(State::KeyStart)
            }
        }
    }

    fn top_value_end(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '#' => {
                self.push(State::Top);
                Some(self.comment_start())
            }
            // A lone `/` is skipped like a blank, as in nats-server.
            '/' => self.slash_comment(State::Top).or(Some(State::TopValueEnd)),
            ' ' | '\t' => Some(State::TopValueEnd),
            '\n' | '\r' | EOF | ';' | ',' | '}' => {
                self.ignore();
                Some(State::Top)
            }
            _ => self.error(&format!(
                "Expected a top-level value to end with a new line, comment or EOF, but got '{}' instead.",
                shown(c)
            )),
        }
    }

    /// Inside a `{` that wraps the top level (JSON style).
    fn block_start(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::BlockStart);
        }
        match c {
            '{' => {
                self.push(State::BlockEnd);
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.ignore();
                self.pop()
            }
            '#' => {
                self.push(State::BlockStart);
                Some(self.comment_start())
            }
            '/' => match self.slash_comment(State::BlockStart) {
                Some(state) => Some(state),
                None => self.end_of_input(),
            },
            EOF => self.end_of_input(),
            _ => {
                self.backup();
                self.push(State::BlockValueEnd);
                Some(State::KeyStart)
            }
        }
    }

    fn block_value_end(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '#' => {
                self.push(State::BlockValueEnd);
                Some(self.comment_start())
            }
            '/' => self
                .slash_comment(State::BlockValueEnd)
                .or(Some(State::BlockValueEnd)),
            ' ' | '\t' => Some(State::BlockValueEnd),
            '\n' | '\r' | ';' | ',' => {
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.backup();
                Some(State::BlockEnd)
            }
            _ => self.error(&format!(
                "Expected a block-level value to end with a new line, comment or EOF, but got '{}' instead.",
                shown(c)
            )),
        }
    }

    fn block_end(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '#' => {
                self.push(State::BlockStart);
                Some(self.comment_start())
            }
            '/' => self
                .slash_comment(State::BlockStart)
                .or(Some(State::BlockEnd)),
            '\n' | '\r' | ' ' | '\t' => Some(State::BlockEnd),
            ';' | ',' => {
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.ignore();
                self.pop()
            }
            _ => self.error(&format!(
                "Expected a block-level to end with a '}}', but got '{}' instead.",
                shown(c)
            )),
        }
    }

    // --- Keys ---------------------------------------------------------------------------------

    fn key_start(&mut self) -> Option<State> {
        let c = self.peek();
        if is_key_separator(c) {
            return self.error(&format!("Unexpected key separator '{c}'"));
        }
        if c.is_whitespace() {
            self.next();
            self.ignore();
            return Some(State::KeyStart);
        }
        if c == '"' || c == '\'' {
            self.next();
            self.ignore();
            return Some(State::QuotedKey(c));
        }
        self.ignore();
        self.next();
        Some(State::Key)
    }

    fn quoted_key(&mut self, quote: char) -> Option<State> {
        let c = self.peek();
        if c == quote {
            self.emit(ItemKind::Key);
            self.next();
            self.ignore();
            return Some(State::KeyEnd);
        }
        if c == EOF {
            return self.end_of_input();
        }
        self.next();
        Some(State::QuotedKey(quote))
    }

    fn key(&mut self) -> Option<State> {
        let c = self.peek();
        if c.is_whitespace() {
            return Some(self.key_or_include(State::KeyEnd, None));
        }
        if is_key_separator(c) || c == EOF {
            self.emit(ItemKind::Key);
            return Some(State::KeyEnd);
        }
        self.next();
        Some(State::Key)
    }

    /// A key followed by a blank may be the keyword `include` (any case), whose value is a path.
    fn key_or_include(&mut self, key_end: State, after_include: Option<State>) -> State {
        if self.pending().eq_ignore_ascii_case(b"include") {
            self.ignore();
            if let Some(state) = after_include {
                self.push(state);
            }
            return State::IncludeStart;
        }
        self.emit(ItemKind::Key);
        key_end
    }

    fn key_end(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::KeyEnd);
        }
        if is_key_separator(c) {
            self.ignore();
            return Some(State::Value);
        }
        if c == EOF {
            self.emit(ItemKind::Eof);
            return None;
        }
        self.backup();
        Some(State::Value)
    }

    // --- Include ------------------------------------------------------------------------------

    fn include_start(&mut self) -> Option<State> {
        let c = self.next();
        if c == ' ' || c == '\t' {
            self.ignore();
            return Some(State::IncludeStart);
        }
        self.backup();
        Some(State::Include)
    }

    fn include(&mut self) -> Option<State> {
        let c = self.next();
        let found = match c {
            '\'' | '"' => {
                self.ignore();
                return Some(State::IncludeQuoted(c));
            }
            '[' => "start of an array",
            '{' => "start of a map",
            '(' => "start of a block",
            '-' => "start of a number",
            c if c.is_ascii_digit() => "start of a number",
            '\\' => "escape sequence",
            '\n' | '\r' => "new line",
            _ => {
                self.backup();
                return Some(State::IncludeBare);
            }
        };
        self.error(&format!("Expected include value but found {found}"))
    }

    fn include_quoted(&mut self, quote: char) -> Option<State> {
        let c = self.next();
        if c == quote {
            self.backup();
            self.emit(ItemKind::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        if c == EOF {
            let what = if quote == '"' {
                "double quoted"
            } else {
                "quoted"
            };
            return self.error(&format!("Unexpected EOF in {what} include"));
        }
        Some(State::IncludeQuoted(quote))
    }

    fn include_bare(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '\n' | '\r' | EOF | ';' | '}' | ' ' | '\t' => {
                self.backup();
                self.emit(ItemKind::Include);
                self.pop()
            }
            '\'' => {
                self.backup();
                self.emit(ItemKind::Include);
                self.next();
                self.ignore();
                self.pop()
            }
            _ => Some(State::IncludeBare),
        }
    }

    // --- Values -------------------------------------------------------------------------------

    fn value(&mut self) -> Option<State> {
        // Blanks may precede a value, new lines may not (arrays and maps skip their own).
        let c = self.next();
        match c {
            ' ' | '\t' => {
                self.ignore();
                Some(State::Value)
            }
            '[' => {
                self.open_value();
                self.emit(ItemKind::ArrayStart);
                Some(State::ArrayValue)
            }
            '{' => {
                self.open_value();
                self.emit(ItemKind::MapStart);
                Some(State::MapKeyStart)
            }
            '\'' => {
                self.open_value();
                Some(State::SingleQuoted)
            }
            '"' => {
                self.open_value();
                self.string_state = State::DoubleQuoted;
                Some(State::DoubleQuoted)
            }
            '-' => Some(State::NegativeStart),
            '(' => {
                self.open_value();
                Some(State::Block)
            }
            c if c.is_ascii_digit() => Some(State::Number),
            '.' => self.error("Floats must start with a digit"),
            '\n' | '\r' => self.error("Expected value but found new line"),
            _ => {
                self.backup();
                self.string_state = State::Bare;
                Some(State::Bare)
            }
        }
    }

    /// After the bracket or quote that opens a value: its text starts after it, but the value
    /// is placed at it.
    fn open_value(&mut self) {
        self.ignore();
        self.item_start = self.last;
    }

    fn array_value(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::ArrayValue);
        }
        match c {
            '#' => {
                self.push(State::ArrayValue);
                Some(self.comment_start())
            }
            '/' => self
                .slash_comment(State::ArrayValue)
                .or_else(|| self.error("Unexpected array value terminator ','.")),
            ',' => self.error("Unexpected array value terminator ','."),
            ']' => Some(State::ArrayEnd),
            _ => {
                self.backup();
                self.push(State::ArrayValueEnd);
                Some(State::Value)
            }
        }
    }

    fn array_value_end(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            ' ' | '\t' => {
                self.ignore();
                Some(State::ArrayValueEnd)
            }
            '#' => {
                self.push(State::ArrayValueEnd);
                Some(self.comment_start())
            }
            '/' => self.slash_comment(State::ArrayValueEnd).or_else(|| {
                self.ignore();
                Some(State::ArrayValue)
            }),
            ',' | '\n' | '\r' => {
                self.ignore();
                Some(State::ArrayValue)
            }
            ']' => Some(State::ArrayEnd),
            _ => self.error(&format!(
                "Expected an array value terminator \",\" or an array terminator \"]\", but got '{}' instead.",
                shown(c)
            )),
        }
    }

    /// After the `]` or `}` that closes an array or map.
    fn close(&mut self, kind: ItemKind) -> Option<State> {
        self.ignore();
        self.emit(kind);
        self.pop()
    }

    fn map_key_start(&mut self) -> Option<State> {
        let c = self.peek();
        if is_key_separator(c) {
            return self.error(&format!("Unexpected key separator '{c}'."));
        }
        if c == ']' {
            return self.error("Unexpected array end ']' processing map.");
        }
        if c.is_whitespace() {
            self.next();
            self.ignore();
            return Some(State::MapKeyStart);
        }
        match c {
            '}' => {
                self.next();
                self.ignore();
                return Some(State::MapEnd);
            }
            '#' => {
                self.next();
                self.push(State::MapKeyStart);
                return Some(self.comment_start());
            }
            '/' => {
                self.next();
                if let Some(state) = self.slash_comment(State::MapKeyStart) {
                    return Some(state);
                }
                // Not a comment: nats-server starts the key after the `/`, dropping it.
            }
            '\'' | '"' => {
                self.next();
                self.ignore();
                return Some(State::MapQuotedKey(c));
            }
            EOF => return self.error("Unexpected EOF processing map."),
            _ => {}
        }
        self.ignore();
        self.next();
        Some(State::MapKey)
    }

    fn map_quoted_key(&mut self, quote: char) -> Option<State> {
        let c = self.peek();
        if c == EOF {
            let what = if quote == '"' {
                "double quoted"
            } else {
                "quoted"
            };
            return self.error(&format!("Unexpected EOF processing {what} map key."));
        }
        if c == quote {
            self.emit(ItemKind::Key);
            self.next();
            self.ignore();
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(State::MapQuotedKey(quote))
    }

    fn map_key(&mut self) -> Option<State> {
        let c = self.peek();
        if c == EOF {
            return self.error("Unexpected EOF processing map key.");
        }
        if c.is_whitespace() {
            return Some(self.key_or_include(State::MapKeyEnd, Some(State::MapValueEnd)));
        }
        if is_key_separator(c) {
            self.emit(ItemKind::Key);
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(State::MapKey)
    }

    fn map_key_end(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::MapKeyEnd);
        }
        if is_key_separator(c) {
            self.ignore();
            return Some(State::MapValue);
        }
        self.backup();
        Some(State::MapValue)
    }

    fn map_value(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::MapValue);
        }
        match c {
            ',' => self.error("Unexpected map value terminator \",\"."),
            // A key with no value (`{ a }`): the map ends and the key is left over.
            '}' => {
                self.ignore();
                Some(State::MapEnd)
            }
            _ => {
                self.backup();
                self.push(State::MapValueEnd);
                Some(State::Value)
            }
        }
    }

    fn map_value_end(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            ' ' | '\t' => {
                self.ignore();
                Some(State::MapValueEnd)
            }
            '#' => {
                self.push(State::MapValueEnd);
                Some(self.comment_start())
            }
            '/' => self.slash_comment(State::MapValueEnd).or_else(|| {
                self.ignore();
                Some(State::MapKeyStart)
            }),
            ';' | ',' | '\n' | '\r' => {
                self.ignore();
                Some(State::MapKeyStart)
            }
            '}' => {
                self.ignore();
                Some(State::MapEnd)
            }
            _ => self.error(&format!(
                "Expected a map value terminator \",\" or a map terminator \"}}\", but got '{}' instead.",
                shown(c)
            )),
        }
    }

    // --- Strings ------------------------------------------------------------------------------

    /// `'...'`: raw text, no escapes, may span lines.
    fn single_quoted(&mut self) -> Option<State> {
        match self.next() {
            '\'' => {
                self.backup();
                self.emit(ItemKind::String);
                self.next();
                self.ignore();
                self.pop()
            }
            EOF => self.end_of_input(),
            _ => Some(State::SingleQuoted),
        }
    }

    /// `"..."`: escapes decoded, may span lines.
    fn double_quoted(&mut self) -> Option<State> {
        match self.next() {
            '\\' => {
                self.keep_pending(1);
                Some(State::Escape)
            }
            '"' => {
                self.backup();
                self.emit(ItemKind::String);
                self.next();
                self.ignore();
                self.pop()
            }
            EOF => self.end_of_input(),
            _ => Some(State::DoubleQuoted),
        }
    }

    /// An unquoted value that is not a number: a string, a boolean or a `$variable`. Escapes
    /// work here too, and a `'` ends it (and is dropped), as in nats-server.
    fn bare(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '\\' => {
                self.keep_pending(1);
                Some(State::Escape)
            }
            '\n' | '\r' | EOF | ';' | ',' | ']' | '}' | ' ' | '\t' => {
                self.backup();
                let text = self.pending();
                if self.has_parts {
                    self.emit(ItemKind::String);
                } else if is_bool(text) {
                    self.emit(ItemKind::Bool);
                } else if text.first() == Some(&b'$') {
                    self.start += 1;
                    self.emit(ItemKind::Variable);
                } else {
                    self.emit(ItemKind::String);
                }
                self.pop()
            }
            '\'' => {
                self.backup();
                self.emit(ItemKind::String);
                self.next();
                self.ignore();
                self.pop()
            }
            _ => Some(State::Bare),
        }
    }

    /// `( ... )`: raw text up to a `)` alone on its line.
    fn block(&mut self) -> Option<State> {
        match self.next() {
            ')' => self.block_close(),
            EOF => self.error("Unexpected EOF processing block."),
            _ => Some(State::Block),
        }
    }

    /// A `)` ends the block only at the start of a line and followed by a new line or the end.
    /// The text keeps the new line before the `)`; at the very end of the input it keeps the
    /// `)` too (nats-server steps back over the end of input, which has no width).
    fn block_close(&mut self) -> Option<State> {
        let paren = self.last;
        let line_start = paren > 0 && self.input.as_bytes().get(paren - 1) == Some(&b'\n');
        if !line_start {
            return Some(State::Block);
        }
        let after = self.next();
        if after != '\n' && after != EOF {
            self.backup();
            return Some(State::Block);
        }
        if self.width > 0 {
            self.pos = paren;
        }
        self.emit(ItemKind::String);
        self.pos = paren + 1;
        self.ignore();
        self.pop()
    }

    fn escape(&mut self) -> Option<State> {
        let c = self.next();
        let decoded: &[u8] = match c {
            'x' => return Some(State::HexEscape),
            't' => b"\t",
            'n' => b"\n",
            'r' => b"\r",
            '"' => b"\"",
            '\\' => b"\\",
            _ => {
                return self.error(&format!(
                    "Invalid escape character '{}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.",
                    shown(c)
                ))
            }
        };
        self.add_part(decoded)
    }

    fn hex_escape(&mut self) -> Option<State> {
        for _ in 0..2 {
            if is_newline(self.next()) {
                return self
                    .error("Expected two hexadecimal digits after '\\x', but hit end of line");
            }
        }
        let digits = self
            .input
            .as_bytes()
            .get(self.pos.saturating_sub(2)..self.pos)
            .unwrap_or_default();
        match decode_hex_pair(digits) {
            Some(byte) => self.add_part(&[byte]),
            None => {
                let got = String::from_utf8_lossy(digits).into_owned();
                self.error(&format!(
                    "Expected two hexadecimal digits after '\\x', but got '{got}'"
                ))
            }
        }
    }

    // --- Numbers ------------------------------------------------------------------------------

    /// After a leading digit: an integer, a float, a datetime, an IP address, or a string that
    /// happens to start with a digit (`10s`).
    fn number(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '-' if self.pos - self.start != 5 => {
                self.error("All ISO8601 dates must be in full Zulu form.")
            }
            '-' => Some(State::DateAfterYear),
            c if c.is_ascii_digit() => Some(State::Number),
            '.' => Some(State::FloatStart),
            c if is_size_suffix(c) => Some(State::Suffix),
            // Note `]` is not among these: `2]` goes on as a string (nats-server's quirk).
            '\n' | '\r' | EOF | '}' | ';' | ',' | ' ' | '\t' => {
                self.backup();
                self.emit(ItemKind::Integer);
                self.pop()
            }
            _ => {
                self.string_state = State::Bare;
                Some(State::Bare)
            }
        }
    }

    /// After a size suffix letter: more `b`/`i` letters, then the end of the value.
    fn suffix(&mut self) -> Option<State> {
        let c = self.next();
        if matches!(c, 'b' | 'B' | 'i' | 'I') {
            return Some(State::Suffix);
        }
        self.backup();
        if is_newline(c) || matches!(c, EOF | '}' | ';' | ',' | ' ' | '\t') || c.is_ascii_digit() {
            self.emit(ItemKind::Integer);
            return self.pop();
        }
        self.string_state = State::Bare;
        Some(State::Bare)
    }

    /// `YYYY-` read; the rest must be `MM-DDTHH:MM:SSZ`.
    fn date_after_year(&mut self) -> Option<State> {
        for expected in "00-00T00:00:00Z".chars() {
            let c = self.next();
            if expected == '0' {
                if !c.is_ascii_digit() {
                    return self.error(&format!(
                        "Expected digit in ISO8601 datetime, but found '{}' instead.",
                        shown(c)
                    ));
                }
            } else if c != expected {
                return self.error(&format!(
                    "Expected '{expected}' in ISO8601 datetime, but found '{}' instead.",
                    shown(c)
                ));
            }
        }
        self.emit(ItemKind::Datetime);
        self.pop()
    }

    fn negative_start(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_ascii_digit() {
            return Some(State::Negative);
        }
        if c == '.' {
            return self.error("Floats must start with a digit, not '.'.");
        }
        self.error(&format!("Expected a digit but got '{}'.", shown(c)))
    }

    fn negative(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            c if c.is_ascii_digit() => Some(State::Negative),
            '.' => Some(State::FloatStart),
            c if is_size_suffix(c) => Some(State::Suffix),
            _ => {
                self.backup();
                self.emit(ItemKind::Integer);
                self.pop()
            }
        }
    }

    fn float_start(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_ascii_digit() {
            return Some(State::Float);
        }
        self.error(&format!(
            "Floats must have a digit after the '.', but got '{}' instead.",
            shown(c)
        ))
    }

    fn float(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_ascii_digit() {
            return Some(State::Float);
        }
        if c == '.' {
            // A second dot: not a float but an IP address.
            return Some(State::IpAddress);
        }
        self.backup();
        self.emit(ItemKind::Float);
        self.pop()
    }

    fn ip_address(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_ascii_digit() || matches!(c, '.' | ':' | '-') {
            return Some(State::IpAddress);
        }
        self.backup();
        self.emit(ItemKind::String);
        self.pop()
    }
}

fn is_newline(c: char) -> bool {
    c == '\n' || c == '\r'
}

fn is_key_separator(c: char) -> bool {
    c == '=' || c == ':'
}

fn is_size_suffix(c: char) -> bool {
    matches!(
        c,
        'k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T' | 'p' | 'P' | 'e' | 'E'
    )
}

fn is_bool(text: &[u8]) -> bool {
    ["true", "false", "on", "off", "yes", "no"]
        .iter()
        .any(|word| text.eq_ignore_ascii_case(word.as_bytes()))
}

fn decode_hex_pair(digits: &[u8]) -> Option<u8> {
    let [high, low] = digits else {
        return None;
    };
    let value = |d: u8| (d as char).to_digit(16);
    Some((value(*high)? * 16 + value(*low)?) as u8)
}

/// A character as an error message shows it: a new line escaped (as nats-server does) and the
/// end of input named (nats-server prints a NUL byte there).
fn shown(c: char) -> String {
    match c {
        '\n' => "\\n".to_owned(),
        EOF => "EOF".to_owned(),
        c => c.to_string(),
    }
}
