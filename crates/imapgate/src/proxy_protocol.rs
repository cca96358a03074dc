//! The PROXY protocol, versions 1 (text) and 2 (binary), as HAProxy's
//! `doc/proxy-protocol.txt` defines it. The module has a parser without I/O,
//! an async reader for the start of a connection, encoders for upstream
//! connections, and the list of networks trusted to send a header.
//!
//! A listener that accepts the protocol requires the header on every
//! connection and never guesses whether one is present, because a receiver
//! that guesses lets any client claim any address. Check the peer against
//! [`TrustedSources`] before calling [`read_header`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};

#[cfg(test)]
mod tests;

/// Maximum length of a version 1 line, CRLF included: `PROXY UNKNOWN` followed
/// by two full-length IPv6 addresses and two 5-digit ports.
pub const V1_MAX_LEN: usize = 107;

/// Maximum length of a version 2 header that [`parse`] accepts, the 16 fixed
/// bytes included. The format allows up to 65,551 bytes. Addresses take at
/// most 216 bytes, and the rest is TLVs, which imapgate skips.
pub const V2_MAX_LEN: usize = 4096;

const V1_PREFIX: &[u8] = b"PROXY ";
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const V2_FIXED_LEN: usize = 16;

/// Length of the shortest header of either version, `PROXY UNKNOWN\r\n`.
const MIN_HEADER_LEN: usize = 15;

const V2_COMMAND_LOCAL: u8 = 0x0;
const V2_COMMAND_PROXY: u8 = 0x1;

/// The connection endpoints that a PROXY header reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client's address. `None` when the header carries no usable
    /// address (v1 `UNKNOWN`, v2 `LOCAL`, an unspecified family or transport,
    /// UDP, unix sockets), and the caller then uses the socket's peer address.
    pub source: Option<SocketAddr>,
    /// The address the client connected to; `None` exactly when `source` is.
    pub destination: Option<SocketAddr>,
}

/// The result of [`parse`] on the bytes received so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The bytes are a valid start of a header. At least `needed` more bytes
    /// (1 or more) are required, so reading up to `needed` bytes never reads
    /// past the header.
    Incomplete { needed: usize },
    /// A complete header, which occupies the first `len` bytes.
    Complete { header: ProxyHeader, len: usize },
}

/// The header version sent to an upstream (`proxy_protocol = "v1"` or `"v2"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1,
    V2,
}

/// An error from parsing or reading a PROXY header. Every variant except
/// `Io` is the sender's fault.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The first bytes match neither `PROXY ` nor the v2 signature. The bytes
    /// themselves are not shown, because a misrouted client may have sent a
    /// password.
    #[error("not a PROXY protocol header: byte {offset} is 0x{byte:02x}, expected \"PROXY \" or the v2 signature")]
    NotProxy { offset: usize, byte: u8 },
    #[error("invalid PROXY v1 header: {0}")]
    InvalidV1(String),
    #[error("invalid PROXY v2 header: {0}")]
    InvalidV2(String),
    #[error("unsupported PROXY v2 version {0}, expected 2")]
    UnsupportedVersion(u8),
    #[error("unsupported PROXY v2 command 0x{0:x}, expected 0x0 (LOCAL) or 0x1 (PROXY)")]
    UnsupportedCommand(u8),
    #[error("PROXY v2 header of {0} bytes exceeds the limit of {V2_MAX_LEN} bytes")]
    V2TooLong(usize),
    #[error("the connection closed after {0} bytes of the PROXY header")]
    Closed(usize),
    #[error("no complete PROXY header within {0:?}")]
    Timeout(Duration),
    #[error("reading the PROXY header failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Parses a PROXY header of either version at the start of `buf`.
///
/// Rejects a header as soon as the bytes received so far cannot start a valid
/// one, so garbage fails without waiting for more input.
pub fn parse(buf: &[u8]) -> Result<Parsed, ProxyError> {
    match buf.first() {
        None => Ok(Parsed::Incomplete { needed: MIN_HEADER_LEN }),
        Some(b'P') => parse_v1(buf),
        Some(b'\r') => parse_v2(buf),
        Some(&byte) => Err(ProxyError::NotProxy { offset: 0, byte }),
    }
}

/// Reads one PROXY header from the start of `stream`, within `timeout`.
///
/// Returns the header and the bytes read after it, which belong to the
/// protocol that follows. Each read requests no more bytes than
/// [`Parsed::Incomplete`] reports the header still needs, so this reader
/// never waits for bytes after the header and never consumes any. The
/// returned bytes are therefore empty, and the stream is positioned right
/// after the header, as a TLS handshake that follows requires. Callers
/// should still feed the returned bytes on.
pub async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
    timeout: Duration,
) -> Result<(ProxyHeader, Vec<u8>), ProxyError> {
    match tokio::time::timeout(timeout, read_until_complete(stream)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(ProxyError::Timeout(timeout)),
    }
}

async fn read_until_complete<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(ProxyHeader, Vec<u8>), ProxyError> {
    // Bounded by V1_MAX_LEN or V2_MAX_LEN, because parse rejects anything longer.
    let mut buffer = Vec::with_capacity(V1_MAX_LEN);
    loop {
        match parse(&buffer)? {
            Parsed::Complete { header, len } => {
                let extra = buffer.split_off(len);
                return Ok((header, extra));
            }
            Parsed::Incomplete { needed } => {
                let start = buffer.len();
                buffer.resize(start + needed, 0);
                let count = stream.read(&mut buffer[start..]).await?;
                buffer.truncate(start + count);
                if count == 0 {
                    return Err(ProxyError::Closed(start));
                }
            }
        }
    }
}

/// Returns the offset of the first byte of `buf` that differs from `expected`.
fn first_mismatch(buf: &[u8], expected: &[u8]) -> Option<usize> {
    buf.iter().zip(expected).position(|(got, want)| got != want)
}

fn invalid_v1(message: impl Into<String>) -> ProxyError {
    ProxyError::InvalidV1(message.into())
}

fn invalid_v2(message: impl Into<String>) -> ProxyError {
    ProxyError::InvalidV2(message.into())
}

// ---------------------------------------------------------------------------
// Version 1: "PROXY" SP ( "TCP4" | "TCP6" ) SP src SP dst SP sport SP dport CRLF,
// or "PROXY" SP "UNKNOWN" followed by anything up to CRLF.

/// The protocol word of a v1 line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V1Protocol {
    Tcp4,
    Tcp6,
    Unknown,
}

impl V1Protocol {
    const ALL: [V1Protocol; 3] = [V1Protocol::Tcp4, V1Protocol::Tcp6, V1Protocol::Unknown];

    fn word(self) -> &'static [u8] {
        match self {
            V1Protocol::Tcp4 => b"TCP4",
            V1Protocol::Tcp6 => b"TCP6",
            V1Protocol::Unknown => b"UNKNOWN",
        }
    }

    fn name(self) -> &'static str {
        match self {
            V1Protocol::Tcp4 => "TCP4",
            V1Protocol::Tcp6 => "TCP6",
            V1Protocol::Unknown => "UNKNOWN",
        }
    }

    /// Length of the shortest complete line with this protocol, for example
    /// `PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n`.
    fn min_line_len(self) -> usize {
        match self {
            V1Protocol::Tcp4 => 32,
            V1Protocol::Tcp6 => 22,
            V1Protocol::Unknown => MIN_HEADER_LEN,
        }
    }

    fn from_word(word: &[u8]) -> Result<Self, ProxyError> {
        Self::ALL.into_iter().find(|protocol| protocol.word() == word).ok_or_else(|| unknown_protocol(word))
    }
}

fn unknown_protocol(word: &[u8]) -> ProxyError {
    let prefix = &word[..word.len().min(16)];
    invalid_v1(format!("unknown protocol \"{}\", expected TCP4, TCP6 or UNKNOWN", prefix.escape_ascii()))
}

fn parse_v1(buf: &[u8]) -> Result<Parsed, ProxyError> {
    if let Some(offset) = first_mismatch(buf, V1_PREFIX) {
        return Err(ProxyError::NotProxy { offset, byte: buf[offset] });
    }
    let window = &buf[..buf.len().min(V1_MAX_LEN)];
    match memchr::memchr(b'\n', window) {
        Some(lf) => {
            let header = parse_v1_line(&buf[..=lf])?;
            Ok(Parsed::Complete { header, len: lf + 1 })
        }
        None if buf.len() >= V1_MAX_LEN => Err(invalid_v1(format!("no CRLF within the first {V1_MAX_LEN} bytes"))),
        None => {
            let needed = check_v1_partial(buf)?;
            if buf.len() + needed > V1_MAX_LEN {
                return Err(invalid_v1(format!("the line cannot end within {V1_MAX_LEN} bytes")));
            }
            Ok(Parsed::Incomplete { needed })
        }
    }
}

/// Parses a whole v1 line, which ends with its first LF.
fn parse_v1_line(line: &[u8]) -> Result<ProxyHeader, ProxyError> {
    let Some(text) = line.strip_suffix(b"\r\n") else {
        return Err(invalid_v1("the line ends with a bare LF, expected CRLF"));
    };
    let text = &text[V1_PREFIX.len()..];
    let (word, fields) = match memchr::memchr(b' ', text) {
        Some(space) => (&text[..space], Some(&text[space + 1..])),
        None => (text, None),
    };
    let protocol = V1Protocol::from_word(word)?;
    match (protocol, fields) {
        // The spec requires receivers to ignore whatever follows UNKNOWN.
        (V1Protocol::Unknown, _) => Ok(ProxyHeader::default()),
        (_, None) => Err(invalid_v1(format!("missing addresses and ports after {}", protocol.name()))),
        (_, Some(fields)) => parse_v1_endpoints(protocol, fields),
    }
}

fn parse_v1_endpoints(protocol: V1Protocol, fields: &[u8]) -> Result<ProxyHeader, ProxyError> {
    let fields: Vec<&[u8]> = fields.split(|&byte| byte == b' ').collect();
    let [source, destination, source_port, destination_port] = fields[..] else {
        return Err(invalid_v1(format!(
            "expected 4 fields after {} separated by single spaces, found {}",
            protocol.name(),
            fields.len()
        )));
    };
    let source_ip = parse_v1_address(protocol, "source address", source)?;
    let destination_ip = parse_v1_address(protocol, "destination address", destination)?;
    let source_port = parse_v1_port("source port", source_port)?;
    let destination_port = parse_v1_port("destination port", destination_port)?;
    Ok(ProxyHeader {
        source: Some(SocketAddr::new(source_ip, source_port)),
        destination: Some(SocketAddr::new(destination_ip, destination_port)),
    })
}

/// Parses an address of the family that `protocol` states. The standard
/// library rejects leading zeros in IPv4 octets, as the spec requires, and
/// accepts the dotted tail of IPv6 forms such as `::ffff:192.0.2.1`, which
/// senders that format with `inet_ntop` produce.
fn parse_v1_address(protocol: V1Protocol, field: &str, text: &[u8]) -> Result<IpAddr, ProxyError> {
    let parsed = std::str::from_utf8(text).ok().and_then(|text| match protocol {
        V1Protocol::Tcp4 => text.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        _ => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
    });
    let family = if protocol == V1Protocol::Tcp4 { "IPv4" } else { "IPv6" };
    parsed.ok_or_else(|| {
        invalid_v1(format!(
            "{field} \"{}\" is not an {family} address, as {} requires",
            text.escape_ascii(),
            protocol.name()
        ))
    })
}

/// Parses a port: decimal 0 to 65535 without leading zeros.
fn parse_v1_port(field: &str, text: &[u8]) -> Result<u16, ProxyError> {
    let well_formed =
        (1..=5).contains(&text.len()) && text.iter().all(u8::is_ascii_digit) && (text[0] != b'0' || text.len() == 1);
    let value = std::str::from_utf8(text).ok().filter(|_| well_formed).and_then(|text| text.parse::<u16>().ok());
    value.ok_or_else(|| {
        invalid_v1(format!(
            "{field} \"{}\" is not a decimal number from 0 to 65535 without leading zeros",
            text.escape_ascii()
        ))
    })
}

/// Checks a v1 line that has no LF yet and returns a lower bound on the bytes
/// it still needs. Rejects what no continuation could make valid.
fn check_v1_partial(buf: &[u8]) -> Result<usize, ProxyError> {
    if buf.len() <= V1_PREFIX.len() {
        return Ok(MIN_HEADER_LEN - buf.len());
    }
    let text = &buf[V1_PREFIX.len()..];
    let word_end = text.iter().position(|&byte| byte == b' ' || byte == b'\r');

    // The protocol word is still arriving: it must start one of the words.
    let Some(word_end) = word_end else {
        let candidates = V1Protocol::ALL.into_iter().filter(|protocol| protocol.word().starts_with(text));
        let min_line_len = candidates.map(V1Protocol::min_line_len).min();
        return match min_line_len {
            Some(min_line_len) => Ok(min_line_len.saturating_sub(buf.len()).max(1)),
            None => Err(unknown_protocol(text)),
        };
    };

    let protocol = V1Protocol::from_word(&text[..word_end])?;
    let line_end_needed = if buf.ends_with(b"\r") { 1 } else { 2 };
    let from_min_len = protocol.min_line_len().saturating_sub(buf.len());
    if protocol == V1Protocol::Unknown {
        return Ok(from_min_len.max(line_end_needed));
    }
    if text[word_end] == b'\r' {
        return Err(invalid_v1(format!("missing addresses and ports after {}", protocol.name())));
    }
    let fields_needed = check_v1_partial_fields(protocol, &text[word_end + 1..])?;
    Ok(from_min_len.max(fields_needed))
}

/// Checks the partial fields of a TCP4 or TCP6 line and returns a lower bound
/// on the bytes still needed: a separator and one character per missing
/// field, plus CRLF.
fn check_v1_partial_fields(protocol: V1Protocol, fields: &[u8]) -> Result<usize, ProxyError> {
    let allowed = |byte: u8| match protocol {
        V1Protocol::Tcp4 => byte.is_ascii_digit() || byte == b'.' || byte == b' ',
        _ => byte.is_ascii_hexdigit() || byte == b'.' || byte == b':' || byte == b' ',
    };
    let body = fields.strip_suffix(b"\r").unwrap_or(fields);
    if let Some(&byte) = body.iter().find(|&&byte| !allowed(byte)) {
        return Err(invalid_v1(format!("unexpected byte 0x{byte:02x} in the {} fields", protocol.name())));
    }
    if body.starts_with(b" ") || memchr::memmem::find(body, b"  ").is_some() {
        return Err(invalid_v1(format!(
            "empty field in the {} line, fields are separated by single spaces",
            protocol.name()
        )));
    }

    let separators = memchr::memchr_iter(b' ', body).count();
    if separators > 3 {
        return Err(invalid_v1(format!("more than 4 fields after {}", protocol.name())));
    }
    if body.len() < fields.len() {
        // A CR is only valid after the destination port.
        if separators < 3 || body.ends_with(b" ") {
            let present = separators + usize::from(!body.is_empty() && !body.ends_with(b" "));
            return Err(invalid_v1(format!("the line ends after {present} of the 4 fields")));
        }
        return Ok(1);
    }
    let current_empty = body.is_empty() || body.ends_with(b" ");
    Ok(usize::from(current_empty) + 2 * (3 - separators) + 2)
}

// ---------------------------------------------------------------------------
// Version 2: 12-byte signature, version and command, family and transport,
// 16-bit length, then addresses and TLVs.

fn parse_v2(buf: &[u8]) -> Result<Parsed, ProxyError> {
    if let Some(offset) = first_mismatch(buf, V2_SIGNATURE) {
        return Err(ProxyError::NotProxy { offset, byte: buf[offset] });
    }
    let command = match buf.get(12) {
        Some(&version_command) => Some(check_v2_version_command(version_command)?),
        None => None,
    };
    if let (Some(V2_COMMAND_PROXY), Some(&family_transport)) = (command, buf.get(13)) {
        check_v2_family_transport(family_transport)?;
    }
    if buf.len() < V2_FIXED_LEN {
        return Ok(Parsed::Incomplete { needed: V2_FIXED_LEN - buf.len() });
    }

    let total = V2_FIXED_LEN + usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if total > V2_MAX_LEN {
        return Err(ProxyError::V2TooLong(total));
    }
    if buf.len() < total {
        return Ok(Parsed::Incomplete { needed: total - buf.len() });
    }

    // The spec requires receivers to discard the whole block after LOCAL, the family included.
    let header = match command {
        Some(V2_COMMAND_PROXY) => parse_v2_addresses(buf[13], &buf[V2_FIXED_LEN..total])?,
        _ => ProxyHeader::default(),
    };
    Ok(Parsed::Complete { header, len: total })
}

/// Checks the 13th byte and returns the command.
fn check_v2_version_command(byte: u8) -> Result<u8, ProxyError> {
    let (version, command) = (byte >> 4, byte & 0x0f);
    if version != 2 {
        return Err(ProxyError::UnsupportedVersion(version));
    }
    if command != V2_COMMAND_LOCAL && command != V2_COMMAND_PROXY {
        return Err(ProxyError::UnsupportedCommand(command));
    }
    Ok(command)
}

/// Checks the 14th byte: family 0 to 3 (UNSPEC, INET, INET6, UNIX) and
/// transport 0 to 2 (UNSPEC, STREAM, DGRAM).
fn check_v2_family_transport(byte: u8) -> Result<(), ProxyError> {
    let (family, transport) = (byte >> 4, byte & 0x0f);
    if family > 3 {
        return Err(invalid_v2(format!("unsupported address family 0x{family:x} in byte 0x{byte:02x}")));
    }
    if transport > 2 {
        return Err(invalid_v2(format!("unsupported transport protocol 0x{transport:x} in byte 0x{byte:02x}")));
    }
    Ok(())
}

/// Name and address block length of each defined family and transport pair.
/// Pairs with an UNSPEC half have no defined layout.
fn v2_address_layout(family_transport: u8) -> Option<(&'static str, usize)> {
    match family_transport {
        0x11 => Some(("TCP over IPv4", 12)),
        0x12 => Some(("UDP over IPv4", 12)),
        0x21 => Some(("TCP over IPv6", 36)),
        0x22 => Some(("UDP over IPv6", 36)),
        0x31 => Some(("unix stream", 216)),
        0x32 => Some(("unix datagram", 216)),
        _ => None,
    }
}

/// Parses the block after the fixed 16 bytes of a PROXY command. Only TCP
/// over IPv4 or IPv6 yields addresses. The other valid pairs fall back to the
/// socket's addresses, which the spec permits for pairs a receiver does not
/// implement.
fn parse_v2_addresses(family_transport: u8, block: &[u8]) -> Result<ProxyHeader, ProxyError> {
    let Some((name, address_len)) = v2_address_layout(family_transport) else {
        // Without a layout the TLVs cannot be located, so the block is skipped unchecked.
        return Ok(ProxyHeader::default());
    };
    if block.len() < address_len {
        return Err(invalid_v2(format!(
            "address block of {} bytes is shorter than the {address_len} bytes that {name} needs",
            block.len()
        )));
    }
    check_v2_tlvs(&block[address_len..])?;

    let port = |at: usize| u16::from_be_bytes([block[at], block[at + 1]]);
    let (source, destination) = match family_transport {
        0x11 => {
            let source = Ipv4Addr::new(block[0], block[1], block[2], block[3]);
            let destination = Ipv4Addr::new(block[4], block[5], block[6], block[7]);
            (SocketAddr::new(source.into(), port(8)), SocketAddr::new(destination.into(), port(10)))
        }
        0x21 => {
            let mut source = [0; 16];
            let mut destination = [0; 16];
            source.copy_from_slice(&block[..16]);
            destination.copy_from_slice(&block[16..32]);
            let source = Ipv6Addr::from(source);
            let destination = Ipv6Addr::from(destination);
            (SocketAddr::new(source.into(), port(32)), SocketAddr::new(destination.into(), port(34)))
        }
        _ => return Ok(ProxyHeader::default()),
    };
    Ok(ProxyHeader { source: Some(source), destination: Some(destination) })
}

/// Checks that the bytes after the addresses are a sequence of whole TLVs
/// (type, 16-bit length, value). Their contents are not used.
fn check_v2_tlvs(mut tlvs: &[u8]) -> Result<(), ProxyError> {
    while !tlvs.is_empty() {
        if tlvs.len() < 3 {
            return Err(invalid_v2(format!("{} bytes after the last TLV are too few for a TLV header", tlvs.len())));
        }
        let value_len = usize::from(u16::from_be_bytes([tlvs[1], tlvs[2]]));
        if 3 + value_len > tlvs.len() {
            return Err(invalid_v2(format!(
                "TLV of type 0x{:02x} declares {value_len} bytes, but only {} remain in the header",
                tlvs[0],
                tlvs.len() - 3
            )));
        }
        tlvs = &tlvs[3 + value_len..];
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Encoding for upstream connections.

/// A source and destination pair in one family, as both versions need.
enum Endpoints {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

/// Puts both addresses in one family. An IPv4-mapped IPv6 address (as a
/// dual-stack socket reports IPv4 peers) counts as IPv4. If the families
/// still differ, the IPv4 address is sent in its IPv4-mapped IPv6 form.
fn endpoints(source: IpAddr, destination: IpAddr) -> Endpoints {
    let as_v6 = |ip: IpAddr| match ip {
        IpAddr::V4(ip) => ip.to_ipv6_mapped(),
        IpAddr::V6(ip) => ip,
    };
    match (source.to_canonical(), destination.to_canonical()) {
        (IpAddr::V4(source), IpAddr::V4(destination)) => Endpoints::V4(source, destination),
        (source, destination) => Endpoints::V6(as_v6(source), as_v6(destination)),
    }
}

/// Encodes a header of `version` for a TCP connection.
pub fn encode(version: Version, source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    match version {
        Version::V1 => encode_v1(source, destination),
        Version::V2 => encode_v2(source, destination),
    }
}

/// Encodes a v1 line: `TCP4` when both addresses are IPv4 (IPv4-mapped IPv6
/// counts as IPv4), else `TCP6` with any IPv4 address in its IPv4-mapped
/// form. Flow info and scope ids are not sent.
pub fn encode_v1(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let (source_port, destination_port) = (source.port(), destination.port());
    let line = match endpoints(source.ip(), destination.ip()) {
        Endpoints::V4(source, destination) => {
            format!("PROXY TCP4 {source} {destination} {source_port} {destination_port}\r\n")
        }
        Endpoints::V6(source, destination) => {
            let (source, destination) = (hex_ipv6(source), hex_ipv6(destination));
            format!("PROXY TCP6 {source} {destination} {source_port} {destination_port}\r\n")
        }
    };
    line.into_bytes()
}

/// Formats an IPv6 address in hexadecimal groups only. The standard
/// formatting writes IPv4-mapped addresses with a dotted tail
/// (`::ffff:192.0.2.1`), which the spec's v1 grammar does not list.
fn hex_ipv6(ip: Ipv6Addr) -> String {
    match ip.to_ipv4_mapped() {
        Some(ipv4) => {
            let [a, b, c, d] = ipv4.octets();
            format!("::ffff:{:x}:{:x}", u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]))
        }
        None => ip.to_string(),
    }
}

/// Encodes a v2 header with the PROXY command, TCP over IPv4 or IPv6, and no
/// TLVs. The family is chosen as for [`encode_v1`].
pub fn encode_v2(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let mut header = Vec::with_capacity(V2_FIXED_LEN + 36);
    header.extend_from_slice(V2_SIGNATURE);
    header.push(0x20 | V2_COMMAND_PROXY);
    match endpoints(source.ip(), destination.ip()) {
        Endpoints::V4(source, destination) => {
            header.push(0x11);
            header.extend_from_slice(&12u16.to_be_bytes());
            header.extend_from_slice(&source.octets());
            header.extend_from_slice(&destination.octets());
        }
        Endpoints::V6(source, destination) => {
            header.push(0x21);
            header.extend_from_slice(&36u16.to_be_bytes());
            header.extend_from_slice(&source.octets());
            header.extend_from_slice(&destination.octets());
        }
    }
    header.extend_from_slice(&source.port().to_be_bytes());
    header.extend_from_slice(&destination.port().to_be_bytes());
    header
}

// ---------------------------------------------------------------------------
// Trusted sources.

/// The networks whose connections may send a PROXY header (`proxy_trusted`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedSources {
    networks: Vec<Network>,
}

/// An address prefix such as `10.0.0.0/8`. Bits after the prefix are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix_len: u8,
}

impl TrustedSources {
    /// Parses CIDR entries (`10.0.0.0/8`, `::1/128`). A bare address is a
    /// single host. Returns one message per invalid entry.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, Vec<String>> {
        let mut networks = Vec::with_capacity(entries.len());
        let mut errors = Vec::new();
        for entry in entries {
            match Network::parse(entry.as_ref()) {
                Ok(network) => networks.push(network),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() { Ok(TrustedSources { networks }) } else { Err(errors) }
    }

    /// Returns whether `address` is in one of the networks. An IPv4-mapped
    /// IPv6 address also matches as its IPv4 address, because a dual-stack
    /// listener reports IPv4 peers that way.
    pub fn contains(&self, address: IpAddr) -> bool {
        let canonical = address.to_canonical();
        self.networks.iter().any(|network| network.contains(address) || network.contains(canonical))
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

impl Network {
    fn parse(entry: &str) -> Result<Self, String> {
        let (address_text, prefix_text) = match entry.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (entry, None),
        };
        let address: IpAddr = address_text
            .parse()
            .map_err(|_| format!("invalid trusted network \"{entry}\": \"{address_text}\" is not an IP address"))?;
        let max_len: u8 = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix_text {
            None => max_len,
            Some(text) => parse_prefix_len(text, max_len).ok_or_else(|| {
                format!(
                    "invalid trusted network \"{entry}\": prefix length \"{text}\" is not a number from 0 to {max_len}"
                )
            })?,
        };

        let network = Network { address: mask(address, prefix_len), prefix_len };
        if network.address != address {
            return Err(format!(
                "invalid trusted network \"{entry}\": bits are set after the /{prefix_len} prefix; \
                 write {}/{prefix_len} for the network or {address} for the single host",
                network.address
            ));
        }
        Ok(network)
    }

    fn contains(&self, address: IpAddr) -> bool {
        address.is_ipv4() == self.address.is_ipv4() && mask(address, self.prefix_len) == self.address
    }
}

fn parse_prefix_len(text: &str, max_len: u8) -> Option<u8> {
    let well_formed = (1..=3).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit());
    let value: u8 = text.parse().ok().filter(|_| well_formed)?;
    (value <= max_len).then_some(value)
}

/// Clears the bits of `address` after the first `prefix_len`.
fn mask(address: IpAddr, prefix_len: u8) -> IpAddr {
    match address {
        IpAddr::V4(ip) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(ip) & keep))
        }
        IpAddr::V6(ip) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix_len)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(ip) & keep))
        }
    }
}
