//! Incremental parser for what a client sends, matching nats-server's server/parser.go.
//!
//! Input arrives as [`Bytes`] chunks split anywhere; ops come out with their fields as slices
//! of those chunks. Only an op (or one field of it) that straddles two chunks is copied, into
//! one internal buffer that is bounded by `control_line_bytes_max` for control lines and by
//! `payload_bytes_max` + 2 for payloads.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use super::errors::ErrText;

/// The parser's limits; nats-server's defaults are 4096 and 1 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserLimits {
    /// Longest control-line argument (the part after the verb and its blanks, without the
    /// final `\r`), as nats-server measures it.
    pub control_line_bytes_max: usize,
    /// Largest PUB/HPUB size (HPUB: headers and payload together).
    pub payload_bytes_max: usize,
}

/// One operation from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOp {
    /// The raw JSON argument; see [`parse_connect`](super::parse_connect).
    Connect(Bytes),
    Pub {
        subject: Bytes,
        reply: Option<Bytes>,
        payload: Bytes,
    },
    /// `headers` is the header block including `NATS/1.0...\r\n\r\n` and is never empty: an
    /// HPUB with header size 0 comes out as [`ClientOp::Pub`], because nats-server treats it
    /// exactly like PUB (every header check there is `hdr > 0`).
    Hpub {
        subject: Bytes,
        reply: Option<Bytes>,
        headers: Bytes,
        payload: Bytes,
    },
    Sub {
        subject: Bytes,
        queue: Option<Bytes>,
        sid: Bytes,
    },
    /// `max` is `Some(n)` only for a valid n ≥ 1. nats-server unsubscribes at once when max is
    /// absent, 0, or not a number of at most 9 digits, so all of those are `None`.
    Unsub {
        sid: Bytes,
        max: Option<u64>,
    },
    Ping,
    Pong,
    /// `INFO <json>` from a client. nats-server ignores it, but closes the connection (without
    /// `-ERR`) when the JSON does not decode as its Info struct.
    Info(Bytes),
    /// `+OK` from a client; nats-server ignores it.
    Ok,
    /// `-ERR <text>` from a client; nats-server logs it and closes the connection without reply.
    Err(Bytes),
}

/// Why the parser stopped. After any of these the parser stays failed: the connection closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Unknown verb, a verb without the byte that must follow it, or an empty line.
    UnknownProtocolOperation,
    /// The byte after a payload is not `\r`, or the one after that is not `\n`.
    PayloadNotTerminated,
    MaxControlLineExceeded,
    /// PUB/HPUB announced `size` bytes, over the limit `max`.
    MaxPayloadViolation {
        size: usize,
        max: usize,
    },
    /// HPUB on a connection whose CONNECT did not set `headers: true`.
    HeadersNotSupported,
    /// PUB without 2 or 3 arguments.
    PubArguments,
    /// PUB size is not 1-9 ASCII digits.
    PubSize,
    /// HPUB without 3 or 4 arguments.
    HpubArguments,
    HpubHeaderSize,
    HpubTotalSize,
    HpubHeaderExceedsTotal,
    /// SUB without 2 or 3 arguments.
    SubArguments,
    /// UNSUB without 1 or 2 arguments.
    UnsubArguments,
}

impl ParseError {
    /// What nats-server sends before closing; `None` when it closes without any `-ERR`
    /// (malformed arguments are a "protocol violation" it only logs).
    pub fn err_text(&self) -> Option<ErrText> {
        match self {
            ParseError::UnknownProtocolOperation | ParseError::PayloadNotTerminated => {
                Some(ErrText::UnknownProtocolOperation)
            }
            ParseError::MaxControlLineExceeded => Some(ErrText::MaxControlLineExceeded),
            ParseError::MaxPayloadViolation { .. } => Some(ErrText::MaxPayloadViolation),
            ParseError::HeadersNotSupported
            | ParseError::PubArguments
            | ParseError::PubSize
            | ParseError::HpubArguments
            | ParseError::HpubHeaderSize
            | ParseError::HpubTotalSize
            | ParseError::HpubHeaderExceedsTotal
            | ParseError::SubArguments
            | ParseError::UnsubArguments => None,
        }
    }
}

impl fmt::Display for ParseError {
    /// nats-server's log wording, so logs can be compared.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownProtocolOperation => f.write_str("unknown protocol operation"),
            ParseError::PayloadNotTerminated => f.write_str("message payload not followed by CRLF"),
            ParseError::MaxControlLineExceeded => f.write_str("maximum control line exceeded"),
            ParseError::MaxPayloadViolation { size, max } => {
                write!(f, "maximum payload exceeded: {size} vs {max}")
            }
            ParseError::HeadersNotSupported => f.write_str("message headers not supported"),
            ParseError::PubArguments => f.write_str("processPub Parse Error"),
            ParseError::PubSize => f.write_str("processPub Bad or Missing Size"),
            ParseError::HpubArguments => f.write_str("processHeaderPub Parse Error"),
            ParseError::HpubHeaderSize => {
                f.write_str("processHeaderPub Bad or Missing Header Size")
            }
            ParseError::HpubTotalSize => f.write_str("processHeaderPub Bad or Missing Total Size"),
            ParseError::HpubHeaderExceedsTotal => {
                f.write_str("processHeaderPub Header Size larger then TotalSize")
            }
            ParseError::SubArguments => f.write_str("processSub Parse Error"),
            ParseError::UnsubArguments => f.write_str("processUnsub Parse Error"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Client protocol parser: `push` input, then call `next_op` until it returns `Ok(None)`
/// (needs more input) or an error (then it stays failed and drops further input).
///
/// It only parses: authentication, permissions, subject validity, pedantic checks and
/// delivery belong to the session. The one piece of connection state it needs is whether
/// CONNECT enabled headers ([`Parser::set_headers_enabled`], off until then), because
/// nats-server rejects such an HPUB before looking at its arguments.
#[derive(Debug)]
pub struct Parser {
    limits: ParserLimits,
    headers_enabled: bool,
    /// Unparsed input, oldest first; the front chunk may be partly consumed.
    chunks: VecDeque<Bytes>,
    /// Total bytes in `chunks`.
    chunk_bytes: usize,
    /// The part of the current line or payload that was copied out of earlier chunks.
    assembly: BytesMut,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Reading a control line; any part already seen is in `assembly`.
    Line,
    /// A PING/PONG/+OK verb was seen; the rest of its line is discarded unread, as
    /// nats-server does (no control-line limit applies).
    Skip(Verb),
    /// A PUB/HPUB control line was accepted; waiting for `size` bytes plus `\r\n`.
    Payload(PendingPub),
    Failed(ParseError),
}

#[derive(Debug)]
struct PendingPub {
    subject: Bytes,
    reply: Option<Bytes>,
    /// Header length for an HPUB with headers; `None` for PUB (and HPUB with size 0).
    header_len: Option<usize>,
    size: usize,
}

/// A PUB/HPUB control line's arguments, as ranges of the argument.
struct PubArgs {
    subject: (usize, usize),
    reply: Option<(usize, usize)>,
    /// `None` for PUB and for HPUB with header size 0.
    header_len: Option<usize>,
    size: usize,
}

/// What one step of the state machine produced.
enum Step {
    Op(ClientOp),
    NeedInput,
    /// The state changed; run the loop again.
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Connect,
    Info,
    Pub,
    Hpub,
    Sub,
    Unsub,
    MinusErr,
    Ping,
    Pong,
    PlusOk,
}

/// How a verb's line continues, from the states of server/parser.go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// At least one space or tab, then the argument (OP_PUB → OP_PUB_SPC).
    Blank,
    /// Optional blanks, then the argument (OP_CONNECT, OP_INFO).
    OptionalBlank,
    /// Anything up to `\n` is ignored (OP_PING, OP_PONG, OP_PLUS_OK).
    Ignore,
}

/// The verbs a client may send. nats-server also routes `HMSG` from a client into a state that
/// drops a line plus `\r\n` and rejects anything else; we reject `HMSG` outright.
const VERBS: [(&[u8], Verb, Follow); 10] = [
    (b"PUB", Verb::Pub, Follow::Blank),
    (b"HPUB", Verb::Hpub, Follow::Blank),
    (b"SUB", Verb::Sub, Follow::Blank),
    (b"UNSUB", Verb::Unsub, Follow::Blank),
    (b"PING", Verb::Ping, Follow::Ignore),
    (b"PONG", Verb::Pong, Follow::Ignore),
    (b"CONNECT", Verb::Connect, Follow::OptionalBlank),
    (b"INFO", Verb::Info, Follow::OptionalBlank),
    (b"+OK", Verb::PlusOk, Follow::Ignore),
    (b"-ERR", Verb::MinusErr, Follow::Blank),
];

enum VerbMatch {
    /// Not a prefix of any verb line: nats-server fails at the first such byte.
    Unknown,
    /// A proper prefix of a verb, or a verb whose required blank has not arrived yet.
    Incomplete,
    /// `verb_len` bytes of verb; the argument starts at `arg_start` (may equal the length).
    Verb {
        verb: Verb,
        follow: Follow,
        verb_len: usize,
        arg_start: usize,
    },
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn match_verb(line: &[u8]) -> VerbMatch {
    // What every client sends for each message: an upper-case PUB or HPUB and one space. The
    // table walk below gives the same answer, only slower.
    if line.len() > 5 && !is_blank(line[5]) && line.starts_with(b"HPUB ") {
        return VerbMatch::Verb {
            verb: Verb::Hpub,
            follow: Follow::Blank,
            verb_len: 4,
            arg_start: 5,
        };
    }
    if line.len() > 4 && !is_blank(line[4]) && line.starts_with(b"PUB ") {
        return VerbMatch::Verb {
            verb: Verb::Pub,
            follow: Follow::Blank,
            verb_len: 3,
            arg_start: 4,
        };
    }
    // An empty line is a prefix of every verb.
    let Some(&first) = line.first() else {
        return VerbMatch::Incomplete;
    };
    for &(name, verb, follow) in &VERBS {
        // Verbs differ in their first byte or are tried in table order, so skipping the
        // others cheaply changes nothing about which verb matches first.
        if !name[0].eq_ignore_ascii_case(&first) {
            continue;
        }
        let n = name.len().min(line.len());
        if !line[..n].eq_ignore_ascii_case(&name[..n]) {
            continue;
        }
        if line.len() < name.len() {
            return VerbMatch::Incomplete;
        }
        let verb_len = name.len();
        let blanks = line[verb_len..]
            .iter()
            .take_while(|&&b| is_blank(b))
            .count();
        if follow == Follow::Blank && blanks == 0 {
            return match line.get(verb_len) {
                None => VerbMatch::Incomplete,
                Some(_) => VerbMatch::Unknown,
            };
        }
        return VerbMatch::Verb {
            verb,
            follow,
            verb_len,
            arg_start: verb_len + blanks,
        };
    }
    VerbMatch::Unknown
}

/// nats-server's parseSize: 1 to 9 ASCII digits, nothing else (no sign, no 10-digit sizes).
fn parse_size(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0'))
    })
}

/// Up to `N` argument ranges of `arg`, split at runs of `separators`; `None` if there are
/// more than `N`. A fixed array, so no allocation per op.
fn split_args<const N: usize>(
    arg: &[u8],
    is_separator: impl Fn(u8) -> bool,
) -> Option<([(usize, usize); N], usize)> {
    let mut out = [(0, 0); N];
    let mut count = 0;
    let mut start = None;
    for (i, &b) in arg.iter().enumerate() {
        match (is_separator(b), start) {
            (true, Some(s)) => {
                *out.get_mut(count)? = (s, i);
                count += 1;
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        *out.get_mut(count)? = (s, arg.len());
        count += 1;
    }
    Some((out, count))
}

/// Bytes of `word` equal to `byte`, flagged in their high bit. Only the lowest flag is exact
/// (a borrow can flag a byte above a real match), which is all a forward search needs; the
/// same holds for an OR of several such masks.
#[inline(always)]
fn swar_equal(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first byte of `bytes` that is a blank, `\r` or `\n`: eight bytes at a time, then
/// byte by byte over the tail.
#[inline(always)]
fn find_delimiter(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for word in bytes.chunks_exact(8) {
        let word = u64::from_le_bytes(word.try_into().expect("chunks_exact(8)"));
        let found = swar_equal(word, b' ')
            | swar_equal(word, b'\t')
            | swar_equal(word, b'\r')
            | swar_equal(word, b'\n');
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let is_delimiter = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    bytes[at..]
        .iter()
        .position(|&b| is_delimiter(b))
        .map(|n| at + n)
}

/// Most arguments a canonical PUB/HPUB line has (HPUB with a reply).
const CANONICAL_TOKENS_MAX: usize = 4;

/// Where a canonical PUB or HPUB's fields are in the input it was read from
/// ([`Parser::canonical_pub`]), so the host can act on it in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubSpans {
    pub subject: Range<usize>,
    pub reply: Option<Range<usize>>,
    /// The header block, for an HPUB with headers (`None` for PUB and HPUB with header size
    /// 0, which nats-server treats as PUB).
    pub headers: Option<Range<usize>>,
    pub payload: Range<usize>,
    /// The whole op, `\r\n` after the payload included.
    pub len: usize,
}

impl PubSpans {
    /// The op, its fields sliced from `input` (what the spans were read from).
    pub fn op(&self, input: &Bytes) -> ClientOp {
        let slice = |range: &Range<usize>| input.slice(range.clone());
        let subject = slice(&self.subject);
        let reply = self.reply.as_ref().map(slice);
        let payload = slice(&self.payload);
        match &self.headers {
            // An HPUB with header size 0 is a PUB, as in `finish_pub`.
            None => ClientOp::Pub {
                subject,
                reply,
                payload,
            },
            Some(headers) => ClientOp::Hpub {
                subject,
                reply,
                headers: slice(headers),
                payload,
            },
        }
    }
}

/// A control line's arguments in canonical form, as ranges of the line.
struct CanonicalLine {
    tokens: [(usize, usize); CANONICAL_TOKENS_MAX],
    count: usize,
    /// Where the line's `\n` is.
    newline: usize,
}

/// Reads `line` from `start` as canonical arguments: up to [`CANONICAL_TOKENS_MAX`]
/// non-empty tokens, each followed by exactly one space except the last, which `\r\n` ends.
/// `None` for anything else.
#[inline(always)]
fn canonical_tokens(line: &[u8], start: usize) -> Option<CanonicalLine> {
    let mut tokens = [(0, 0); CANONICAL_TOKENS_MAX];
    let mut count = 0;
    let mut at = start;
    loop {
        let end = at + find_delimiter(&line[at..])?;
        if end == at {
            return None;
        }
        *tokens.get_mut(count)? = (at, end);
        count += 1;
        match line[end] {
            b' ' => at = end + 1,
            b'\r' if line.get(end + 1) == Some(&b'\n') => {
                return Some(CanonicalLine {
                    tokens,
                    count,
                    newline: end + 1,
                })
            }
            _ => return None,
        }
    }
}

/// PUB and HPUB split only at blanks (client.go splitArg).
fn is_pub_separator(b: u8) -> bool {
    is_blank(b)
}

/// SUB and UNSUB split at blanks, `\r` and `\n` (client.go splitArg).
fn is_sub_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl Parser {
    pub fn new(limits: ParserLimits) -> Parser {
        Parser {
            limits,
            headers_enabled: false,
            chunks: VecDeque::new(),
            chunk_bytes: 0,
            assembly: BytesMut::new(),
            state: State::Line,
        }
    }

    /// Changes the control-line limit for lines not yet parsed (a config reload).
    pub fn set_control_line_bytes_max(&mut self, n: usize) {
        self.limits.control_line_bytes_max = n;
    }

    /// Changes the PUB/HPUB size limit for control lines not yet parsed.
    pub fn set_payload_bytes_max(&mut self, n: usize) {
        self.limits.payload_bytes_max = n;
    }

    /// Whether HPUB is allowed: set it from CONNECT's `headers` once CONNECT is accepted.
    pub fn set_headers_enabled(&mut self, enabled: bool) {
        self.headers_enabled = enabled;
    }

    /// Appends input. Dropped once the parser has failed.
    pub fn push(&mut self, data: Bytes) {
        if data.is_empty() || matches!(self.state, State::Failed(_)) {
            return;
        }
        self.chunk_bytes += data.len();
        self.chunks.push_back(data);
    }

    /// Input held but not yet returned as ops.
    pub fn buffered_bytes(&self) -> usize {
        self.chunk_bytes + self.assembly.len()
    }

    /// The next complete op; `Ok(None)` when more input is needed.
    pub fn next_op(&mut self) -> Result<Option<ClientOp>, ParseError> {
        if let Some(op) = self.whole_pub_in_front() {
            return Ok(Some(op));
        }
        loop {
            let step = match &self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Line => self.step_line(),
                State::Skip(_) => Ok(self.step_skip()),
                State::Payload(_) => self.step_payload(),
            };
            match step {
                Ok(Step::Op(op)) => return Ok(Some(op)),
                Ok(Step::NeedInput) => return Ok(None),
                Ok(Step::Continue) => {}
                Err(error) => return Err(self.fail(error)),
            }
        }
    }

    /// Drops all input and stays failed with `error`.
    fn fail(&mut self, error: ParseError) -> ParseError {
        self.chunks.clear();
        self.chunk_bytes = 0;
        self.assembly = BytesMut::new();
        self.state = State::Failed(error.clone());
        error
    }

    /// The common case, tried before the state machine: a PUB or HPUB in the canonical form
    /// every client writes (upper-case verb, single spaces, `\r\n`) whose control line and
    /// payload are both in the front chunk. It is parsed in one pass (see [`PubSpans`]) and the
    /// op is made of slices of the chunk: no copy, no intermediate `Bytes` for the line.
    ///
    /// `None` leaves the input to the state machine: anything else (other verbs, tabs or
    /// repeated blanks, a bad size or terminator, a limit exceeded, an op not yet complete).
    /// For every input accepted here the state machine gives the same op; the parser tests
    /// check that by feeding each fixture whole (this path) and split (the other).
    #[inline(always)]
    fn whole_pub_in_front(&mut self) -> Option<ClientOp> {
        if !matches!(self.state, State::Line) || !self.assembly.is_empty() {
            return None;
        }
        let front = self.chunks.front()?;
        let spans = self.canonical_pub(front)?;
        let op = spans.op(front);
        self.consume_front(spans.len);
        Some(op)
    }

    /// Reads a canonical PUB or HPUB (see [`Parser::next_op`]'s fast path) whole at the start
    /// of `input`, with this connection's limits and header setting: `None` when `input` does
    /// not start with one, and then the state machine decides what it is.
    #[inline(always)]
    pub fn canonical_pub(&self, input: &[u8]) -> Option<PubSpans> {
        let (verb, arg_start) = if input.starts_with(b"PUB ") {
            (Verb::Pub, 4)
        } else if input.starts_with(b"HPUB ") && self.headers_enabled {
            (Verb::Hpub, 5)
        } else {
            return None;
        };
        // The argument is at most the limit, then `\r\n` (and a longer line goes the slow way).
        let line_end = input
            .len()
            .min(arg_start + self.limits.control_line_bytes_max + 2);
        let CanonicalLine {
            tokens,
            count,
            newline,
        } = canonical_tokens(&input[..line_end], arg_start)?;
        let token = |i: usize| &input[tokens[i].0..tokens[i].1];
        let (reply, header_len, size) = match (verb, count) {
            (Verb::Pub, 2) => (None, 0, parse_size(token(1))?),
            (Verb::Pub, 3) => (Some(tokens[1]), 0, parse_size(token(2))?),
            (Verb::Hpub, 3) => (None, parse_size(token(1))?, parse_size(token(2))?),
            (Verb::Hpub, 4) => (
                Some(tokens[1]),
                parse_size(token(2))?,
                parse_size(token(3))?,
            ),
            _ => return None,
        };
        if header_len > size || size > self.limits.payload_bytes_max {
            return None;
        }
        let body = newline + 1;
        let len = body + size + 2;
        if input.len() < len || &input[body + size..len] != b"\r\n" {
            return None;
        }
        Some(PubSpans {
            subject: tokens[0].0..tokens[0].1,
            reply: reply.map(|(start, end)| start..end),
            headers: (header_len > 0).then(|| body..body + header_len),
            payload: body + header_len..body + size,
            len,
        })
    }

    /// Lends out the front chunk of input for the host of the parser to read PUBs from in
    /// place with [`Parser::canonical_pub`], without a `Bytes` per field. `None` unless the
    /// parser is between ops with nothing assembled. What is left unread must be handed back
    /// with [`Parser::give_back`] before the next [`Parser::next_op`]; dropping it drops it.
    pub fn lend_front(&mut self) -> Option<Bytes> {
        if !matches!(self.state, State::Line) || !self.assembly.is_empty() {
            return None;
        }
        let front = self.chunks.pop_front()?;
        self.chunk_bytes -= front.len();
        Some(front)
    }

    /// Puts back the unread rest of a chunk from [`Parser::lend_front`], in front of the
    /// input pushed since.
    pub fn give_back(&mut self, rest: Bytes) {
        if !rest.is_empty() {
            self.chunk_bytes += rest.len();
            self.chunks.push_front(rest);
        }
    }

    fn consume_front(&mut self, n: usize) {
        let front = self
            .chunks
            .front_mut()
            .expect("consume_front is called on a front chunk");
        front.advance(n);
        self.chunk_bytes -= n;
        if front.is_empty() {
            self.chunks.pop_front();
        }
    }

    fn step_line(&mut self) -> Result<Step, ParseError> {
        loop {
            let Some(front) = self.chunks.front_mut() else {
                return Ok(Step::NeedInput);
            };
            let Some(pos) = memchr::memchr(b'\n', front) else {
                self.assembly.extend_from_slice(front);
                let n = front.len();
                self.consume_front(n);
                self.check_partial_line()?;
                if !matches!(self.state, State::Line) {
                    return Ok(Step::Continue);
                }
                continue;
            };
            let newline_starts_arg = if self.assembly.is_empty() {
                newline_starts_arg(&front[..pos])
            } else {
                self.assembly.extend_from_slice(&front[..pos]);
                newline_starts_arg(&self.assembly)
            };
            if newline_starts_arg {
                // server/parser.go leaves OP_PUB_SPC (and friends) on any non-blank byte, even
                // `\n`, which then becomes the first byte of the argument; the line goes on to
                // the next `\n`. Pathological, but cheap to match.
                if self.assembly.is_empty() {
                    self.assembly.extend_from_slice(&front[..pos]);
                }
                self.assembly.extend_from_slice(b"\n");
                self.consume_front(pos + 1);
                self.check_partial_line()?;
                continue;
            }
            // Both branches take the `pos` line bytes off the front chunk.
            let line = if self.assembly.is_empty() {
                front.split_to(pos)
            } else {
                front.advance(pos);
                self.assembly.split().freeze()
            };
            self.chunk_bytes -= pos;
            self.consume_front(1);
            return self.finish_line(line);
        }
    }

    /// Checks a line still waiting for its `\n`, so that a bad verb or an overlong argument
    /// fails now (as nats-server does at the end of each read) instead of being buffered.
    fn check_partial_line(&mut self) -> Result<(), ParseError> {
        match match_verb(&self.assembly) {
            VerbMatch::Unknown => Err(ParseError::UnknownProtocolOperation),
            VerbMatch::Incomplete => Ok(()),
            VerbMatch::Verb {
                verb,
                follow: Follow::Ignore,
                ..
            } => {
                self.assembly.clear();
                self.state = State::Skip(verb);
                Ok(())
            }
            VerbMatch::Verb {
                verb_len,
                arg_start,
                ..
            } => {
                if arg_start == self.assembly.len() {
                    // Only blanks after the verb so far: keep one, so a client cannot make us
                    // buffer an endless run of them (nats-server just skips them).
                    self.assembly.truncate(arg_start.min(verb_len + 1));
                    return Ok(());
                }
                let arg = &self.assembly[arg_start..];
                let arg_len = arg.len() - usize::from(arg.ends_with(b"\r"));
                if arg_len > self.limits.control_line_bytes_max {
                    return Err(ParseError::MaxControlLineExceeded);
                }
                Ok(())
            }
        }
    }

    /// Handles one complete control line (`line` is without its `\n`).
    fn finish_line(&mut self, line: Bytes) -> Result<Step, ParseError> {
        let VerbMatch::Verb {
            verb, arg_start, ..
        } = match_verb(&line)
        else {
            // Includes a line that ends inside a verb: `PUB\r\n`, `PIN\n`, `\r\n`.
            return Err(ParseError::UnknownProtocolOperation);
        };
        match verb {
            Verb::Ping => return Ok(Step::Op(ClientOp::Ping)),
            Verb::Pong => return Ok(Step::Op(ClientOp::Pong)),
            Verb::PlusOk => return Ok(Step::Op(ClientOp::Ok)),
            _ => {}
        }
        // nats-server drops one `\r` before the `\n`; a `\r` elsewhere stays in the argument.
        let end = line.len() - usize::from(line.ends_with(b"\r"));
        let arg_start = arg_start.min(end);
        if end - arg_start > self.limits.control_line_bytes_max {
            return Err(ParseError::MaxControlLineExceeded);
        }
        let arg = line.slice(arg_start..end);
        let op = match verb {
            Verb::Connect => ClientOp::Connect(arg),
            Verb::Info => ClientOp::Info(arg),
            Verb::MinusErr => ClientOp::Err(arg),
            Verb::Sub => parse_sub(&arg)?,
            Verb::Unsub => parse_unsub(&arg)?,
            Verb::Pub | Verb::Hpub => return self.start_pub(verb, &arg),
            Verb::Ping | Verb::Pong | Verb::PlusOk => unreachable!("returned above"),
        };
        Ok(Step::Op(op))
    }

    /// A PUB/HPUB line that was assembled from several chunks: wait for its payload.
    fn start_pub(&mut self, verb: Verb, arg: &Bytes) -> Result<Step, ParseError> {
        let args = pub_args(&self.limits, self.headers_enabled, verb, arg)?;
        self.state = State::Payload(PendingPub {
            subject: arg.slice(args.subject.0..args.subject.1),
            reply: args.reply.map(|r| arg.slice(r.0..r.1)),
            header_len: args.header_len,
            size: args.size,
        });
        Ok(Step::Continue)
    }

    fn step_skip(&mut self) -> Step {
        loop {
            let Some(front) = self.chunks.front() else {
                return Step::NeedInput;
            };
            let Some(pos) = memchr::memchr(b'\n', front) else {
                let n = front.len();
                self.consume_front(n);
                continue;
            };
            self.consume_front(pos + 1);
            let State::Skip(verb) = std::mem::replace(&mut self.state, State::Line) else {
                unreachable!("step_skip runs only in State::Skip");
            };
            return Step::Op(match verb {
                Verb::Ping => ClientOp::Ping,
                Verb::Pong => ClientOp::Pong,
                _ => ClientOp::Ok,
            });
        }
    }

    fn step_payload(&mut self) -> Result<Step, ParseError> {
        let State::Payload(pending) = &self.state else {
            unreachable!("step_payload runs only in State::Payload");
        };
        let size = pending.size;
        let need = size + 2;
        loop {
            let Some(front) = self.chunks.front_mut() else {
                return Ok(Step::NeedInput);
            };
            if self.assembly.is_empty() && front.len() >= need {
                // The common case: the whole payload is in one chunk, no copy.
                let block = front.split_to(need);
                self.chunk_bytes -= need;
                if front.is_empty() {
                    self.chunks.pop_front();
                }
                check_terminator(&block, size)?;
                return Ok(Step::Op(self.finish_pub(block)));
            }
            if self.assembly.is_empty() {
                self.assembly.reserve(need);
            }
            let take = (need - self.assembly.len()).min(front.len());
            self.assembly.extend_from_slice(&front[..take]);
            self.consume_front(take);
            check_terminator(&self.assembly, size)?;
            if self.assembly.len() == need {
                let block = self.assembly.split().freeze();
                return Ok(Step::Op(self.finish_pub(block)));
            }
        }
    }

    /// Builds the op from `block` (payload plus `\r\n`) and goes back to reading lines.
    fn finish_pub(&mut self, block: Bytes) -> ClientOp {
        let State::Payload(pending) = std::mem::replace(&mut self.state, State::Line) else {
            unreachable!("finish_pub runs only in State::Payload");
        };
        let PendingPub {
            subject,
            reply,
            header_len,
            size,
        } = pending;
        match header_len {
            None => ClientOp::Pub {
                subject,
                reply,
                payload: block.slice(..size),
            },
            Some(header_len) => ClientOp::Hpub {
                subject,
                reply,
                headers: block.slice(..header_len),
                payload: block.slice(header_len..size),
            },
        }
    }
}

/// A PUB/HPUB control line's arguments, in client.go's order of checks: for PUB
/// (processPub) the argument count, then the size, then max_payload; for HPUB
/// (processHeaderPub) headers agreed, argument count, header size, total size,
/// header ≤ total, then max_payload.
fn pub_args(
    limits: &ParserLimits,
    headers_enabled: bool,
    verb: Verb,
    arg: &[u8],
) -> Result<PubArgs, ParseError> {
    if verb == Verb::Pub {
        let (args, count) =
            split_args::<3>(arg, is_pub_separator).ok_or(ParseError::PubArguments)?;
        let (subject, reply, size) = match count {
            2 => (args[0], None, args[1]),
            3 => (args[0], Some(args[1]), args[2]),
            _ => return Err(ParseError::PubArguments),
        };
        let size = parse_size(&arg[size.0..size.1]).ok_or(ParseError::PubSize)?;
        check_payload_size(limits, size)?;
        return Ok(PubArgs {
            subject,
            reply,
            header_len: None,
            size,
        });
    }
    if !headers_enabled {
        return Err(ParseError::HeadersNotSupported);
    }
    let (args, count) = split_args::<4>(arg, is_pub_separator).ok_or(ParseError::HpubArguments)?;
    let (subject, reply, header_len, size) = match count {
        3 => (args[0], None, args[1], args[2]),
        4 => (args[0], Some(args[1]), args[2], args[3]),
        _ => return Err(ParseError::HpubArguments),
    };
    let header_len =
        parse_size(&arg[header_len.0..header_len.1]).ok_or(ParseError::HpubHeaderSize)?;
    let size = parse_size(&arg[size.0..size.1]).ok_or(ParseError::HpubTotalSize)?;
    if header_len > size {
        return Err(ParseError::HpubHeaderExceedsTotal);
    }
    check_payload_size(limits, size)?;
    Ok(PubArgs {
        subject,
        reply,
        header_len: (header_len > 0).then_some(header_len),
        size,
    })
}

fn check_payload_size(limits: &ParserLimits, size: usize) -> Result<(), ParseError> {
    let max = limits.payload_bytes_max;
    if size > max {
        return Err(ParseError::MaxPayloadViolation { size, max });
    }
    Ok(())
}

/// Whether a complete line is a verb that takes an argument followed only by its blanks, so
/// the `\n` that ended it is really the argument's first byte (see `step_line`).
fn newline_starts_arg(line: &[u8]) -> bool {
    matches!(
        match_verb(line),
        VerbMatch::Verb { follow, arg_start, .. }
            if follow != Follow::Ignore && arg_start == line.len()
    )
}

/// nats-server's MSG_END_R / MSG_END_N: checks whichever of the two bytes after the payload
/// have arrived, so a bad one fails as soon as it is seen.
fn check_terminator(block: &[u8], size: usize) -> Result<(), ParseError> {
    let bad_cr = block.get(size).is_some_and(|&b| b != b'\r');
    let bad_lf = block.get(size + 1).is_some_and(|&b| b != b'\n');
    if bad_cr || bad_lf {
        return Err(ParseError::PayloadNotTerminated);
    }
    Ok(())
}

/// client.go parseSub: `<subject> [queue] <sid>`.
fn parse_sub(arg: &Bytes) -> Result<ClientOp, ParseError> {
    let (args, count) = split_args::<3>(arg, is_sub_separator).ok_or(ParseError::SubArguments)?;
    let slice = |(start, end): (usize, usize)| arg.slice(start..end);
    match count {
        2 => Ok(ClientOp::Sub {
            subject: slice(args[0]),
            queue: None,
            sid: slice(args[1]),
        }),
        3 => Ok(ClientOp::Sub {
            subject: slice(args[0]),
            queue: Some(slice(args[1])),
            sid: slice(args[2]),
        }),
        _ => Err(ParseError::SubArguments),
    }
}

/// client.go processUnsub: `<sid> [max]`; a max that does not parse means "now".
fn parse_unsub(arg: &Bytes) -> Result<ClientOp, ParseError> {
    let (args, count) = split_args::<2>(arg, is_sub_separator).ok_or(ParseError::UnsubArguments)?;
    let max = match count {
        1 => None,
        2 => parse_size(&arg[args[1].0..args[1].1])
            .filter(|&n| n > 0)
            .map(|n| n as u64),
        _ => return Err(ParseError::UnsubArguments),
    };
    Ok(ClientOp::Unsub {
        sid: arg.slice(args[0].0..args[0].1),
        max,
    })
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
