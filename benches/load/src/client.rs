//! A minimal raw NATS client: connect and handshake, build PUB frames, and walk what the server
//! sends without copying payloads.
//!
//! It speaks only the client protocol every NATS server speaks (INFO, CONNECT, PUB, HPUB, SUB,
//! PING/PONG, MSG/HMSG), so the same bytes measure every server. Nothing here allocates per
//! message: frames are built once, and received messages are parsed in place in one buffer.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Read buffer of a connection that streams messages; a larger message grows it.
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// Read buffer of a new connection (INFO is about 400 bytes).
const HANDSHAKE_BUFFER_BYTES: usize = 2048;
/// An INFO line longer than this is not a NATS server.
const INFO_LINE_BYTES_MAX: usize = 64 * 1024;

/// The header block `--headers` sends with every message (an HPUB with 12 header bytes).
pub const HEADER_BLOCK: &[u8] = b"NATS/1.0\r\n\r\n";

/// `host:port` from `nats://host:port`, `host:port` or `host` (port 4222).
pub fn address_of(url: &str) -> String {
    let rest = url.strip_prefix("nats://").unwrap_or(url);
    let rest = rest.rsplit('@').next().unwrap_or(rest); // drop any user:pass@
    let rest = rest.trim_end_matches('/');
    if rest
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        rest.to_string()
    } else {
        format!("{rest}:4222")
    }
}

/// One received message, borrowed from the read buffer.
pub struct Msg<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    /// The header block of an HMSG (`NATS/1.0 503\r\n\r\n` for no responders), empty for MSG.
    pub header: &'a [u8],
    pub payload: &'a [u8],
}

/// Control ops seen by one [`Reader::drain`].
#[derive(Default, Debug, Clone, Copy)]
pub struct Control {
    /// Server PINGs: each needs a PONG back.
    pub pings: u64,
    pub pongs: u64,
}

/// The read half of a connection and its buffer.
pub struct Reader {
    socket: OwnedReadHalf,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// An open, handshaken connection.
pub struct Client {
    pub reader: Reader,
    pub writer: OwnedWriteHalf,
    /// The server's INFO JSON.
    pub info: String,
}

impl Client {
    /// Connects, reads INFO, sends CONNECT and a PING, and waits for the PONG, so the
    /// server has accepted the connection when this returns.
    pub async fn connect(addr: &str, name: &str) -> io::Result<Client> {
        Client::connect_with(addr, name, false).await
    }

    /// [`Client::connect`], asking with `no_responders` for a `503` status message when a
    /// request reaches nobody (instead of silence), as JetStream clients do.
    pub async fn connect_with(addr: &str, name: &str, no_responders: bool) -> io::Result<Client> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        let (read, mut writer) = socket.into_split();
        let mut reader = Reader::with_capacity(read, HANDSHAKE_BUFFER_BYTES);
        let info = reader.read_info().await?;
        let connect = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\
             \"name\":\"{name}\",\"lang\":\"rust\",\"version\":\"{}\",\"protocol\":1,\
             \"echo\":true,\"headers\":true,\"no_responders\":{no_responders}}}\r\nPING\r\n",
            env!("CARGO_PKG_VERSION")
        );
        writer.write_all(connect.as_bytes()).await?;
        reader.wait_pong(&mut writer).await?;
        Ok(Client {
            reader,
            writer,
            info,
        })
    }

    /// Sends `SUB subject [queue] sid`, then PING, and waits for the PONG: the server has
    /// registered the subscription when this returns.
    pub async fn subscribe(&mut self, subject: &str, queue: Option<&str>) -> io::Result<()> {
        let line = match queue {
            Some(queue) => format!("SUB {subject} {queue} 1\r\nPING\r\n"),
            None => format!("SUB {subject} 1\r\nPING\r\n"),
        };
        self.writer.write_all(line.as_bytes()).await?;
        self.reader.wait_pong(&mut self.writer).await
    }

    /// The `"version"` of the server's INFO, or `?`.
    pub fn server_version(&self) -> &str {
        let key = "\"version\":\"";
        self.info
            .find(key)
            .and_then(|at| {
                let rest = &self.info[at + key.len()..];
                rest.find('"').map(|end| &rest[..end])
            })
            .unwrap_or("?")
    }
}

impl Reader {
    fn with_capacity(socket: OwnedReadHalf, bytes: usize) -> Reader {
        Reader {
            socket,
            buf: vec![0; bytes],
            start: 0,
            end: 0,
        }
    }

    /// Reads the INFO line the server sends first; returns its JSON.
    async fn read_info(&mut self) -> io::Result<String> {
        loop {
            let data = &self.buf[self.start..self.end];
            if let Some(nl) = memchr::memchr(b'\n', data) {
                let line = String::from_utf8_lossy(&data[..nl]).trim_end().to_string();
                self.start += nl + 1;
                return match line.strip_prefix("INFO ") {
                    Some(json) => Ok(json.trim().to_string()),
                    None => Err(io::Error::other(format!("expected INFO, got {line:?}"))),
                };
            }
            if self.end - self.start > INFO_LINE_BYTES_MAX {
                return Err(io::Error::other("INFO line too long"));
            }
            self.fill().await?;
        }
    }

    /// Reads until a PONG, answering server PINGs. Messages that arrive meanwhile are dropped.
    pub async fn wait_pong(&mut self, writer: &mut OwnedWriteHalf) -> io::Result<()> {
        loop {
            let control = self.drain(|_| {})?;
            answer_pings(writer, control.pings).await?;
            if control.pongs > 0 {
                return Ok(());
            }
            self.fill().await?;
        }
    }

    /// Reads once more from the socket (at least one byte), or fails at EOF.
    pub async fn fill(&mut self) -> io::Result<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.buf.len() - self.end < self.buf.len() / 4 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // One op larger than the buffer: make room for it.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.socket.read(&mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// Grows the buffer for a stream of messages (connections start small, so thousands of
    /// idle ones stay cheap).
    pub fn reserve_for_streaming(&mut self) {
        if self.buf.len() < READ_BUFFER_BYTES {
            self.buf.resize(READ_BUFFER_BYTES, 0);
        }
    }

    /// Walks every complete op in the buffer: each MSG/HMSG goes to `on_msg`, PING/PONG are
    /// counted, `-ERR` fails. A partial op stays for the next `fill`.
    pub fn drain(&mut self, mut on_msg: impl FnMut(Msg<'_>)) -> io::Result<Control> {
        let mut control = Control::default();
        loop {
            let data = &self.buf[self.start..self.end];
            let Some(nl) = memchr::memchr(b'\n', data) else {
                break;
            };
            let line = data[..nl].strip_suffix(b"\r").unwrap_or(&data[..nl]);
            match line.first() {
                Some(b'M' | b'H') => {
                    let (subject, reply, header_len, size) = parse_msg_line(line)?;
                    let total = nl + 1 + size + 2;
                    if data.len() < total {
                        break;
                    }
                    let header = &data[nl + 1..nl + 1 + header_len];
                    let payload = &data[nl + 1 + header_len..nl + 1 + size];
                    on_msg(Msg {
                        subject,
                        reply,
                        header,
                        payload,
                    });
                    self.start += total;
                }
                Some(b'P') if line.eq_ignore_ascii_case(b"PING") => {
                    control.pings += 1;
                    self.start += nl + 1;
                }
                Some(b'P') if line.eq_ignore_ascii_case(b"PONG") => {
                    control.pongs += 1;
                    self.start += nl + 1;
                }
                Some(b'-') => {
                    let text = String::from_utf8_lossy(line).to_string();
                    return Err(io::Error::other(format!("server said {text}")));
                }
                // +OK and INFO updates.
                Some(b'+' | b'I') => self.start += nl + 1,
                _ => {
                    let text = String::from_utf8_lossy(line).to_string();
                    return Err(io::Error::other(format!("unexpected line {text:?}")));
                }
            }
        }
        Ok(control)
    }
}

/// Sends one PONG per server PING.
pub async fn answer_pings(writer: &mut OwnedWriteHalf, pings: u64) -> io::Result<()> {
    for _ in 0..pings {
        writer.write_all(b"PONG\r\n").await?;
    }
    Ok(())
}

/// `MSG <subject> <sid> [reply] <size>` or `HMSG <subject> <sid> [reply] <hdr> <total>`:
/// the subject, the reply, the header length and the total size after the line.
type MsgLine<'a> = (&'a [u8], Option<&'a [u8]>, usize, usize);

fn parse_msg_line(line: &[u8]) -> io::Result<MsgLine<'_>> {
    let bad = || io::Error::other(format!("bad MSG line {:?}", String::from_utf8_lossy(line)));
    let mut args: [&[u8]; 6] = [&[]; 6];
    let mut count = 0;
    for arg in line.split(|&b| b == b' ').filter(|a| !a.is_empty()) {
        *args.get_mut(count).ok_or_else(bad)? = arg;
        count += 1;
    }
    let number = |arg: &[u8]| -> io::Result<usize> {
        std::str::from_utf8(arg)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)
    };
    let subject = args[1];
    let (reply, header_len, size) = match (args[0], count) {
        (b"MSG", 4) => (None, 0, number(args[3])?),
        (b"MSG", 5) => (Some(args[3]), 0, number(args[4])?),
        (b"HMSG", 5) => (None, number(args[3])?, number(args[4])?),
        (b"HMSG", 6) => (Some(args[3]), number(args[4])?, number(args[5])?),
        _ => return Err(bad()),
    };
    if header_len > size {
        return Err(bad());
    }
    Ok((subject, reply, header_len, size))
}

/// One PUB (or HPUB with [`HEADER_BLOCK`]) frame of `size` payload bytes.
pub fn pub_frame(subject: &str, reply: Option<&str>, size: usize, headers: bool) -> Vec<u8> {
    let mut frame = Vec::with_capacity(size + subject.len() + 64);
    let reply = reply.map(|r| format!("{r} ")).unwrap_or_default();
    if headers {
        let total = HEADER_BLOCK.len() + size;
        frame.extend_from_slice(
            format!("HPUB {subject} {reply}{} {total}\r\n", HEADER_BLOCK.len()).as_bytes(),
        );
        frame.extend_from_slice(HEADER_BLOCK);
    } else {
        frame.extend_from_slice(format!("PUB {subject} {reply}{size}\r\n").as_bytes());
    }
    // A recognisable, non-constant payload.
    frame.extend((0..size).map(|i| b'a' + (i % 26) as u8));
    frame.extend_from_slice(b"\r\n");
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(address_of("nats://127.0.0.1:4222"), "127.0.0.1:4222");
        assert_eq!(address_of("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(address_of("nats://a:b@localhost:7/"), "localhost:7");
        assert_eq!(address_of("localhost"), "localhost:4222");
    }

    #[test]
    fn msg_lines() {
        let (subject, reply, h, n) = parse_msg_line(b"MSG a.b 1 12").unwrap();
        assert_eq!((subject, reply, h, n), (&b"a.b"[..], None, 0, 12));
        let (_, reply, h, n) = parse_msg_line(b"MSG a.b 1 _INBOX.x 0").unwrap();
        assert_eq!((reply, h, n), (Some(&b"_INBOX.x"[..]), 0, 0));
        let (subject, reply, h, n) = parse_msg_line(b"HMSG a 1 r 12 20").unwrap();
        assert_eq!((subject, reply, h, n), (&b"a"[..], Some(&b"r"[..]), 12, 20));
        assert!(parse_msg_line(b"MSG a").is_err());
        assert!(parse_msg_line(b"MSG a 1 x").is_err());
        assert!(parse_msg_line(b"HMSG a 1 20 12").is_err());
    }

    #[test]
    fn frames() {
        assert_eq!(pub_frame("s", None, 3, false), b"PUB s 3\r\nabc\r\n");
        assert_eq!(pub_frame("s", Some("r"), 1, false), b"PUB s r 1\r\na\r\n");
        assert_eq!(
            pub_frame("s", None, 2, true),
            b"HPUB s 12 14\r\nNATS/1.0\r\n\r\nab\r\n"
        );
    }
}
