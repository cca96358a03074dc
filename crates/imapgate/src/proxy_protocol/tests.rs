use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// The v2 signature as the spec lists it, byte by byte.
const SIGNATURE: [u8; 12] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

const IMAP: &[u8] = b"a1 CAPABILITY\r\n";

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn v2(version_command: u8, family_transport: u8, block: &[u8]) -> Vec<u8> {
    let mut header = SIGNATURE.to_vec();
    header.push(version_command);
    header.push(family_transport);
    header.extend_from_slice(&u16::try_from(block.len()).unwrap().to_be_bytes());
    header.extend_from_slice(block);
    header
}

/// Builds the IPv4 address block of the spec's example: 192.168.0.1:56324 to
/// 192.168.0.11:443.
fn ipv4_block() -> Vec<u8> {
    vec![192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB]
}

fn ipv6_block() -> Vec<u8> {
    let mut block = Vec::new();
    block.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    block.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
    block.extend_from_slice(&[0xC7, 0x38, 0x03, 0xE1]);
    block
}

fn complete(buf: &[u8]) -> (ProxyHeader, usize) {
    match parse(buf) {
        Ok(Parsed::Complete { header, len }) => (header, len),
        other => panic!("expected a complete header for {:?}, got {other:?}", buf.escape_ascii().to_string()),
    }
}

fn endpoints_of(header: ProxyHeader) -> (SocketAddr, SocketAddr) {
    (header.source.expect("source address"), header.destination.expect("destination address"))
}

fn rejection(buf: &[u8]) -> String {
    match parse(buf) {
        Err(error) => error.to_string(),
        Ok(parsed) => panic!("expected {:?} to be rejected, got {parsed:?}", buf.escape_ascii().to_string()),
    }
}

// Version 1 known answers.

#[test]
fn v1_tcp4_spec_example() {
    let line = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
    let (header, len) = complete(line);
    assert_eq!(len, line.len());
    assert_eq!(endpoints_of(header), (addr("192.168.0.1:56324"), addr("192.168.0.11:443")));
}

#[test]
fn v1_tcp6_addresses() {
    let line = b"PROXY TCP6 2001:db8::1 2001:DB8::2 51000 993\r\n";
    let (header, len) = complete(line);
    assert_eq!(len, line.len());
    assert_eq!(endpoints_of(header), (addr("[2001:db8::1]:51000"), addr("[2001:db8::2]:993")));
}

#[test]
fn v1_tcp6_longest_line() {
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let line = format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
    assert_eq!(line.len(), 104);
    let (header, len) = complete(line.as_bytes());
    assert_eq!(len, 104);
    assert_eq!(header.source, Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(u128::MAX)), 65535)));
}

#[test]
fn v1_tcp6_dotted_mapped_form() {
    let (header, _) = complete(b"PROXY TCP6 ::ffff:192.0.2.1 ::ffff:192.0.2.2 1 0\r\n");
    assert_eq!(endpoints_of(header), (addr("[::ffff:192.0.2.1]:1"), addr("[::ffff:192.0.2.2]:0")));
}

#[test]
fn v1_unknown_short_form() {
    let (header, len) = complete(b"PROXY UNKNOWN\r\n");
    assert_eq!(header, ProxyHeader::default());
    assert_eq!(len, 15);
}

#[test]
fn v1_unknown_worst_case_107_bytes() {
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let line = format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
    assert_eq!(line.len(), V1_MAX_LEN);
    let (header, len) = complete(line.as_bytes());
    assert_eq!(header, ProxyHeader::default());
    assert_eq!(len, V1_MAX_LEN);
}

#[test]
fn v1_unknown_ignores_rest_of_line() {
    let (header, len) = complete(b"PROXY UNKNOWN anything at all\r\nrest");
    assert_eq!(header, ProxyHeader::default());
    assert_eq!(len, 31);
}

// Version 1 rejections.

#[test]
fn v1_rejections() {
    let cases: &[(&[u8], &str)] = &[
        (b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n", "bare LF"),
        (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "unknown protocol \"TCP5\""),
        (b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "unknown protocol \"\""),
        (b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "unknown protocol \"tcp4\""),
        (b"PROXY UNKNOWNX\r\n", "unknown protocol \"UNKNOWNX\""),
        (b"PROXY TCP4\r\n", "missing addresses and ports after TCP4"),
        (b"PROXY TCP4 010.0.0.1 5.6.7.8 1 2\r\n", "source address \"010.0.0.1\" is not an IPv4 address"),
        (b"PROXY TCP4 1.2.3.4 256.0.0.1 1 2\r\n", "destination address \"256.0.0.1\""),
        (b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "source address \"1.2.3\""),
        (b"PROXY TCP4 ::1 ::1 1 2\r\n", "is not an IPv4 address"),
        (b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "source address \"1.2.3.4\" is not an IPv6 address"),
        (b"PROXY TCP6 1::2::3 ::1 1 2\r\n", "source address \"1::2::3\""),
        (b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "invalid PROXY v1 header"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 0443 143\r\n", "source port \"0443\""),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 143 65536\r\n", "destination port \"65536\""),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 143 100000\r\n", "destination port \"100000\""),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 143\r\n", "source port \"+1\""),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", "found 5"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "found 5"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "found 3"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", "destination port \"2\\r\""),
        (b"PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n", "found 3"),
    ];
    for (line, expected) in cases {
        let message = rejection(line);
        assert!(message.starts_with("invalid PROXY v1 header: "), "{message}");
        assert!(message.contains(expected), "{:?}: {message}", line.escape_ascii().to_string());
    }
}

#[test]
fn v1_without_crlf_in_107_bytes() {
    let mut line = b"PROXY UNKNOWN ".to_vec();
    line.resize(V1_MAX_LEN, b'x');
    assert!(rejection(&line).contains("no CRLF within the first 107 bytes"));

    // A CRLF right after the limit does not help.
    line.extend_from_slice(b"\r\n");
    assert!(rejection(&line).contains("no CRLF within the first 107 bytes"));

    // 105 bytes leave room for CRLF, 106 bytes without CR do not.
    assert_eq!(parse(&line[..V1_MAX_LEN - 2]).unwrap(), Parsed::Incomplete { needed: 2 });
    assert!(rejection(&line[..V1_MAX_LEN - 1]).contains("the line cannot end within 107 bytes"));
}

#[test]
fn v1_partial_garbage_rejected_early() {
    let cases: &[(&[u8], &str)] = &[
        (b"PROXY XYZ", "unknown protocol \"XYZ\""),
        (b"PROXY TCP7", "unknown protocol \"TCP7\""),
        (b"PROXY TCP4\r", "missing addresses"),
        (b"PROXY TCP4 1.2.3.4 x", "unexpected byte 0x78"),
        (b"PROXY TCP4 1:2", "unexpected byte 0x3a"),
        (b"PROXY TCP4  ", "empty field"),
        (b"PROXY TCP4 1.2.3.4  ", "empty field"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3", "more than 4 fields"),
        (b"PROXY TCP4 1.2.3.4\r", "the line ends after 1 of the 4 fields"),
        (b"PROXY TCP6 ::1 ::1 1 2\r\r", "unexpected byte 0x0d"),
    ];
    for (partial, expected) in cases {
        let message = rejection(partial);
        assert!(message.contains(expected), "{:?}: {message}", partial.escape_ascii().to_string());
    }
}

#[test]
fn first_bytes_not_proxy() {
    let cases: &[(&[u8], usize, u8)] = &[
        (b"a1 LOGIN user secret\r\n", 0, b'a'),
        (b"proxy TCP4", 0, b'p'),
        (b"PROXZ", 4, b'Z'),
        (b"PROXY\r\n", 5, b'\r'),
        (b"GET / HTTP/1.1\r\n", 0, b'G'),
        (&[0x16, 0x03, 0x01, 0x02, 0x00], 0, 0x16),
        (b"\r\n\r\n\0\r\nQUIX\n", 10, b'X'),
        (b"\r\nPROXY", 2, b'P'),
    ];
    for (bytes, offset, byte) in cases {
        match parse(bytes) {
            Err(ProxyError::NotProxy { offset: got_offset, byte: got_byte }) => {
                assert_eq!((got_offset, got_byte), (*offset, *byte), "{:?}", bytes.escape_ascii().to_string());
            }
            other => panic!("expected NotProxy for {:?}, got {other:?}", bytes.escape_ascii().to_string()),
        }
    }
}

#[test]
fn not_proxy_message_hides_bytes() {
    let message = rejection(b"a1 LOGIN user secret\r\n");
    assert_eq!(message, "not a PROXY protocol header: byte 0 is 0x61, expected \"PROXY \" or the v2 signature");
}

// Version 2 known answers.

#[test]
fn v2_tcp4_spec_example_addresses() {
    let header_bytes = v2(0x21, 0x11, &ipv4_block());
    let (header, len) = complete(&header_bytes);
    assert_eq!(len, 28);
    assert_eq!(endpoints_of(header), (addr("192.168.0.1:56324"), addr("192.168.0.11:443")));
}

#[test]
fn v2_tcp6_addresses() {
    let header_bytes = v2(0x21, 0x21, &ipv6_block());
    let (header, len) = complete(&header_bytes);
    assert_eq!(len, 52);
    assert_eq!(endpoints_of(header), (addr("[2001:db8::1]:51000"), addr("[2001:db8::2]:993")));
}

#[test]
fn v2_local_without_addresses() {
    let (header, len) = complete(&v2(0x20, 0x00, &[]));
    assert_eq!(header, ProxyHeader::default());
    assert_eq!(len, 16);
}

#[test]
fn v2_local_ignores_family_and_block() {
    let (header, len) = complete(&v2(0x20, 0x11, &ipv4_block()));
    assert_eq!(header, ProxyHeader::default());
    assert_eq!(len, 28);

    // The family is not even checked after LOCAL.
    let (header, len) = complete(&v2(0x20, 0xFF, &[1, 2, 3]));
    assert_eq!(header, ProxyHeader::default());
    assert_eq!(len, 19);
}

#[test]
fn v2_unspec_family_without_addresses() {
    for family_transport in [0x00, 0x01, 0x10, 0x20] {
        let (header, len) = complete(&v2(0x21, family_transport, &[9; 7]));
        assert_eq!(header, ProxyHeader::default(), "family 0x{family_transport:02x}");
        assert_eq!(len, 23, "family 0x{family_transport:02x}");
    }
}

#[test]
fn v2_unix_and_udp_without_addresses() {
    let (header, len) = complete(&v2(0x21, 0x31, &[0; 216]));
    assert_eq!(header, ProxyHeader::default());
    assert_eq!(len, 232);

    let (header, _) = complete(&v2(0x21, 0x32, &[0; 216]));
    assert_eq!(header, ProxyHeader::default());

    let (header, _) = complete(&v2(0x21, 0x12, &ipv4_block()));
    assert_eq!(header, ProxyHeader::default());

    let (header, _) = complete(&v2(0x21, 0x22, &ipv6_block()));
    assert_eq!(header, ProxyHeader::default());
}

#[test]
fn v2_tlvs_skipped() {
    let mut block = ipv4_block();
    block.extend_from_slice(&[0x04, 0x00, 0x02, 0x00, 0x00]); // NOOP with 2 bytes
    block.extend_from_slice(&[0x01, 0x00, 0x04]); // ALPN "imap"
    block.extend_from_slice(b"imap");
    block.extend_from_slice(&[0x05, 0x00, 0x00]); // empty UNIQUE_ID
    let header_bytes = v2(0x21, 0x11, &block);
    let (header, len) = complete(&header_bytes);
    assert_eq!(len, 16 + 12 + 5 + 7 + 3);
    assert_eq!(endpoints_of(header), (addr("192.168.0.1:56324"), addr("192.168.0.11:443")));
}

#[test]
fn v2_at_length_limit() {
    let mut block = ipv4_block();
    let value_len = V2_MAX_LEN - 16 - 12 - 3;
    block.push(0xE0);
    block.extend_from_slice(&u16::try_from(value_len).unwrap().to_be_bytes());
    block.resize(V2_MAX_LEN - 16, 0);
    let (_, len) = complete(&v2(0x21, 0x11, &block));
    assert_eq!(len, V2_MAX_LEN);
}

// Version 2 rejections.

#[test]
fn v2_bad_signature() {
    for offset in 0..12 {
        let mut header_bytes = v2(0x21, 0x11, &ipv4_block());
        header_bytes[offset] ^= 0x40;
        let Err(ProxyError::NotProxy { offset: got, .. }) = parse(&header_bytes) else {
            panic!("signature changed at byte {offset} was accepted");
        };
        assert_eq!(got, offset);
    }
}

#[test]
fn v2_unsupported_version() {
    for version in [0x0, 0x1, 0x3, 0xF] {
        let header_bytes = v2(version << 4 | 0x1, 0x11, &ipv4_block());
        match parse(&header_bytes[..13]) {
            Err(ProxyError::UnsupportedVersion(got)) => assert_eq!(got, version),
            other => panic!("version {version} gave {other:?}"),
        }
    }
}

#[test]
fn v2_unsupported_command() {
    let header_bytes = v2(0x22, 0x11, &ipv4_block());
    let message = rejection(&header_bytes[..13]);
    assert_eq!(message, "unsupported PROXY v2 command 0x2, expected 0x0 (LOCAL) or 0x1 (PROXY)");
    assert!(matches!(parse(&v2(0x2F, 0x00, &[])), Err(ProxyError::UnsupportedCommand(0xF))));
}

#[test]
fn v2_unsupported_family_or_transport() {
    let message = rejection(&v2(0x21, 0x41, &ipv4_block())[..14]);
    assert_eq!(message, "invalid PROXY v2 header: unsupported address family 0x4 in byte 0x41");
    let message = rejection(&v2(0x21, 0x13, &ipv4_block())[..14]);
    assert_eq!(message, "invalid PROXY v2 header: unsupported transport protocol 0x3 in byte 0x13");
}

#[test]
fn v2_too_long_rejected_from_fixed_part() {
    let mut fixed = SIGNATURE.to_vec();
    fixed.extend_from_slice(&[0x21, 0x11]);
    fixed.extend_from_slice(&u16::try_from(V2_MAX_LEN - 16 + 1).unwrap().to_be_bytes());
    assert!(matches!(parse(&fixed), Err(ProxyError::V2TooLong(4097))));
    fixed[14..16].copy_from_slice(&[0xFF, 0xFF]);
    assert_eq!(rejection(&fixed), "PROXY v2 header of 65551 bytes exceeds the limit of 4096 bytes");
}

#[test]
fn v2_address_block_too_short() {
    let message = rejection(&v2(0x21, 0x11, &ipv4_block()[..8]));
    assert_eq!(
        message,
        "invalid PROXY v2 header: address block of 8 bytes is shorter than the 12 bytes that TCP over IPv4 needs"
    );
    let message = rejection(&v2(0x21, 0x21, &ipv4_block()));
    assert!(message.contains("address block of 12 bytes is shorter than the 36 bytes that TCP over IPv6 needs"));
    let message = rejection(&v2(0x21, 0x31, &[0; 215]));
    assert!(message.contains("shorter than the 216 bytes that unix stream needs"));
}

#[test]
fn v2_truncated_tlvs() {
    let mut block = ipv4_block();
    block.extend_from_slice(&[0x01, 0x00]);
    let message = rejection(&v2(0x21, 0x11, &block));
    assert_eq!(message, "invalid PROXY v2 header: 2 bytes after the last TLV are too few for a TLV header");

    let mut block = ipv4_block();
    block.extend_from_slice(&[0x02, 0x00, 0x0A, b'h', b'o', b's', b't']);
    let message = rejection(&v2(0x21, 0x11, &block));
    assert_eq!(message, "invalid PROXY v2 header: TLV of type 0x02 declares 10 bytes, but only 4 remain in the header");
}

// Every split point of a header followed by IMAP bytes.

fn assert_every_split(header_bytes: &[u8], expected: ProxyHeader) {
    let mut stream = header_bytes.to_vec();
    stream.extend_from_slice(IMAP);
    let name = header_bytes.escape_ascii().to_string();
    for split in 0..header_bytes.len() {
        match parse(&stream[..split]) {
            Ok(Parsed::Incomplete { needed }) => {
                assert!(needed >= 1, "{name} split at {split}: needed 0");
                assert!(needed <= header_bytes.len() - split, "{name} split at {split}: needed {needed} overshoots");
            }
            other => panic!("{name} split at {split}: {other:?}"),
        }
    }
    for split in header_bytes.len()..=stream.len() {
        assert_eq!(
            parse(&stream[..split]).unwrap(),
            Parsed::Complete { header: expected, len: header_bytes.len() },
            "{name} split at {split}"
        );
    }
}

#[test]
fn every_split_point() {
    let tcp4 = ProxyHeader { source: Some(addr("192.168.0.1:56324")), destination: Some(addr("192.168.0.11:443")) };
    let tcp6 = ProxyHeader { source: Some(addr("[2001:db8::1]:51000")), destination: Some(addr("[2001:db8::2]:993")) };
    let none = ProxyHeader::default();
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let mut with_tlvs = ipv4_block();
    with_tlvs.extend_from_slice(&[0x04, 0x00, 0x02, 0x00, 0x00]);

    assert_every_split(b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", tcp4);
    assert_every_split(
        b"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n",
        ProxyHeader { source: Some(addr("0.0.0.0:0")), destination: Some(addr("0.0.0.0:0")) },
    );
    assert_every_split(b"PROXY TCP6 2001:db8::1 2001:db8::2 51000 993\r\n", tcp6);
    assert_every_split(
        b"PROXY TCP6 :: :: 0 0\r\n",
        ProxyHeader { source: Some(addr("[::]:0")), destination: Some(addr("[::]:0")) },
    );
    assert_every_split(b"PROXY UNKNOWN\r\n", none);
    assert_every_split(format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n").as_bytes(), none);
    assert_every_split(&v2(0x21, 0x11, &ipv4_block()), tcp4);
    assert_every_split(&v2(0x21, 0x21, &ipv6_block()), tcp6);
    assert_every_split(&v2(0x20, 0x00, &[]), none);
    assert_every_split(&v2(0x21, 0x11, &with_tlvs), tcp4);
}

// Encoding.

#[test]
fn encode_v1_known_answers() {
    assert_eq!(
        encode_v1(addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
    );
    assert_eq!(
        encode_v1(addr("[2001:db8::1]:51000"), addr("[2001:db8::2]:993")),
        b"PROXY TCP6 2001:db8::1 2001:db8::2 51000 993\r\n"
    );
}

#[test]
fn encode_v1_mixed_families_as_tcp6() {
    assert_eq!(
        encode_v1(addr("192.0.2.1:50000"), addr("[2001:db8::2]:143")),
        b"PROXY TCP6 ::ffff:c000:201 2001:db8::2 50000 143\r\n"
    );
}

#[test]
fn encode_v1_mapped_addresses_as_tcp4() {
    assert_eq!(
        encode_v1(addr("[::ffff:192.0.2.1]:50000"), addr("[::ffff:10.0.0.1]:143")),
        b"PROXY TCP4 192.0.2.1 10.0.0.1 50000 143\r\n"
    );
}

#[test]
fn encode_v2_known_answers() {
    assert_eq!(encode_v2(addr("192.168.0.1:56324"), addr("192.168.0.11:443")), v2(0x21, 0x11, &ipv4_block()));
    assert_eq!(encode_v2(addr("[2001:db8::1]:51000"), addr("[2001:db8::2]:993")), v2(0x21, 0x21, &ipv6_block()));
    assert_eq!(encode(Version::V2, addr("192.168.0.1:56324"), addr("192.168.0.11:443")), v2(0x21, 0x11, &ipv4_block()));
    assert_eq!(
        encode(Version::V1, addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
    );
}

#[test]
fn version_from_config_text() {
    #[derive(serde::Deserialize)]
    struct Upstream {
        proxy_protocol: Version,
    }
    let v1: Upstream = toml::from_str("proxy_protocol = \"v1\"").unwrap();
    assert_eq!(v1.proxy_protocol, Version::V1);
    let v2: Upstream = toml::from_str("proxy_protocol = \"v2\"").unwrap();
    assert_eq!(v2.proxy_protocol, Version::V2);
    assert!(toml::from_str::<Upstream>("proxy_protocol = \"v3\"").is_err());
}

/// The addresses a header should carry after encoding: both IPv4 when both
/// are IPv4 or IPv4-mapped, else both IPv6.
fn expected_ips(source: IpAddr, destination: IpAddr) -> (IpAddr, IpAddr) {
    let to_v6 = |ip: IpAddr| match ip {
        IpAddr::V4(ip) => IpAddr::V6(ip.to_ipv6_mapped()),
        IpAddr::V6(_) => ip,
    };
    match (source.to_canonical(), destination.to_canonical()) {
        (source @ IpAddr::V4(_), destination @ IpAddr::V4(_)) => (source, destination),
        (source, destination) => (to_v6(source), to_v6(destination)),
    }
}

fn assert_round_trip(encoded: &[u8], source: SocketAddr, destination: SocketAddr) {
    let (header, len) = complete(encoded);
    assert_eq!(len, encoded.len());
    let (parsed_source, parsed_destination) = endpoints_of(header);
    assert_eq!((parsed_source.ip(), parsed_destination.ip()), expected_ips(source.ip(), destination.ip()));
    assert_eq!((parsed_source.port(), parsed_destination.port()), (source.port(), destination.port()));
}

proptest! {
    #[test]
    fn v1_round_trip(source: SocketAddr, destination: SocketAddr) {
        let encoded = encode_v1(source, destination);
        assert!(encoded.len() <= V1_MAX_LEN);
        assert_round_trip(&encoded, source, destination);
    }

    #[test]
    fn v2_round_trip(source: SocketAddr, destination: SocketAddr) {
        assert_round_trip(&encode_v2(source, destination), source, destination);
    }

    #[test]
    fn v4_round_trip_unchanged(source: SocketAddr, destination: SocketAddr) {
        prop_assume!(source.is_ipv4() && destination.is_ipv4());
        for encoded in [encode_v1(source, destination), encode_v2(source, destination)] {
            let (header, _) = complete(&encoded);
            prop_assert_eq!(endpoints_of(header), (source, destination));
        }
    }

    #[test]
    fn v1_tcp6_hex_only(source: Ipv6Addr, destination: Ipv6Addr, port: u16) {
        let line = encode_v1(SocketAddr::new(source.into(), port), SocketAddr::new(destination.into(), port));
        if line.starts_with(b"PROXY TCP6 ") {
            prop_assert!(!line.contains(&b'.'), "{}", line.escape_ascii());
        }
    }

    #[test]
    fn encoded_prefixes_incomplete(source: SocketAddr, destination: SocketAddr, tail in prop::collection::vec(any::<u8>(), 0..32)) {
        for encoded in [encode_v1(source, destination), encode_v2(source, destination)] {
            for split in 0..encoded.len() {
                match parse(&encoded[..split]) {
                    Ok(Parsed::Incomplete { needed }) => {
                        prop_assert!(needed >= 1);
                        prop_assert!(needed <= encoded.len() - split);
                    }
                    other => prop_assert!(false, "split {}: {:?}", split, other),
                }
            }
            let mut stream = encoded.clone();
            stream.extend_from_slice(&tail);
            let (_, len) = complete(&stream);
            prop_assert_eq!(len, encoded.len());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        match parse(&bytes) {
            Ok(Parsed::Incomplete { needed }) => prop_assert!((1..=V2_MAX_LEN).contains(&needed)),
            Ok(Parsed::Complete { len, .. }) => prop_assert!(len <= bytes.len()),
            Err(_) => {}
        }
    }

    #[test]
    fn v1_like_bytes_never_panic(tail in "[0-9a-fA-F.: \r\n]{0,110}", protocol in "(TCP4|TCP6|UNKNOWN) ") {
        let line = format!("PROXY {protocol}{tail}");
        match parse(line.as_bytes()) {
            Ok(Parsed::Incomplete { needed }) => {
                prop_assert!(needed >= 1);
                prop_assert!(line.len() + needed <= V1_MAX_LEN);
            }
            Ok(Parsed::Complete { len, .. }) => prop_assert!(len <= V1_MAX_LEN),
            Err(_) => {}
        }
    }
}

// read_header over a stream.

const TIMEOUT: Duration = Duration::from_secs(5);

/// Reads what `read_header` left in the stream, up to `len` bytes.
async fn read_rest(stream: &mut tokio::io::DuplexStream, len: usize) -> Vec<u8> {
    let mut rest = vec![0; len];
    stream.read_exact(&mut rest).await.unwrap();
    rest
}

#[tokio::test(start_paused = true)]
async fn read_header_then_imap_bytes() {
    let (mut client, mut server) = tokio::io::duplex(4096);
    let mut sent = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".to_vec();
    sent.extend_from_slice(IMAP);
    client.write_all(&sent).await.unwrap();

    let (header, extra) = read_header(&mut server, TIMEOUT).await.unwrap();
    assert_eq!(endpoints_of(header), (addr("192.168.0.1:56324"), addr("192.168.0.11:443")));
    assert!(extra.is_empty(), "read past the header: {:?}", extra.escape_ascii().to_string());
    assert_eq!(read_rest(&mut server, IMAP.len()).await, IMAP);
}

#[tokio::test(start_paused = true)]
async fn read_header_v2_then_tls_bytes() {
    let (mut client, mut server) = tokio::io::duplex(4096);
    let mut sent = v2(0x21, 0x21, &ipv6_block());
    sent.extend_from_slice(&[0x16, 0x03, 0x01]);
    client.write_all(&sent).await.unwrap();

    let (header, extra) = read_header(&mut server, TIMEOUT).await.unwrap();
    assert_eq!(endpoints_of(header), (addr("[2001:db8::1]:51000"), addr("[2001:db8::2]:993")));
    assert!(extra.is_empty());
    assert_eq!(read_rest(&mut server, 3).await, [0x16, 0x03, 0x01]);
}

#[tokio::test(start_paused = true)]
async fn read_header_alone_returns() {
    for sent in [b"PROXY TCP6 ::1 ::1 143 143\r\n".to_vec(), b"PROXY UNKNOWN\r\n".to_vec(), v2(0x20, 0x00, &[])] {
        let (mut client, mut server) = tokio::io::duplex(4096);
        client.write_all(&sent).await.unwrap();
        // The client stays connected and sends nothing more, waiting for the greeting.
        let result = read_header(&mut server, TIMEOUT).await;
        assert!(result.is_ok(), "{:?}: {result:?}", sent.escape_ascii().to_string());
        drop(client);
    }
}

#[tokio::test(start_paused = true)]
async fn read_header_one_byte_at_a_time() {
    for sent in [b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".to_vec(), v2(0x21, 0x11, &ipv4_block())] {
        let (mut client, mut server) = tokio::io::duplex(1);
        let mut with_imap = sent.clone();
        with_imap.extend_from_slice(IMAP);
        let writer = tokio::spawn(async move {
            client.write_all(&with_imap).await.unwrap();
            client
        });

        let (header, extra) = read_header(&mut server, TIMEOUT).await.unwrap();
        assert_eq!(endpoints_of(header), (addr("192.168.0.1:56324"), addr("192.168.0.11:443")));
        assert!(extra.is_empty());
        assert_eq!(read_rest(&mut server, IMAP.len()).await, IMAP);
        drop(writer.await.unwrap());
    }
}

#[tokio::test(start_paused = true)]
async fn read_header_times_out_on_silence() {
    let (_client, mut server) = tokio::io::duplex(4096);
    let result = read_header(&mut server, Duration::from_secs(3)).await;
    match result {
        Err(ProxyError::Timeout(timeout)) => assert_eq!(timeout, Duration::from_secs(3)),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn read_header_times_out_on_partial_header() {
    let (mut client, mut server) = tokio::io::duplex(4096);
    client.write_all(b"PROXY TCP4 192.168.0.1 ").await.unwrap();
    let error = read_header(&mut server, Duration::from_secs(3)).await.unwrap_err();
    assert_eq!(error.to_string(), "no complete PROXY header within 3s");
}

#[tokio::test(start_paused = true)]
async fn read_header_closed_mid_header() {
    let (mut client, mut server) = tokio::io::duplex(4096);
    client.write_all(&v2(0x21, 0x11, &ipv4_block())[..20]).await.unwrap();
    drop(client);
    match read_header(&mut server, TIMEOUT).await {
        Err(ProxyError::Closed(received)) => assert_eq!(received, 20),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn read_header_rejects_imap_command() {
    let (mut client, mut server) = tokio::io::duplex(4096);
    client.write_all(b"a1 LOGIN user secret\r\n").await.unwrap();
    let result = read_header(&mut server, TIMEOUT).await;
    assert!(matches!(result, Err(ProxyError::NotProxy { offset: 0, byte: b'a' })), "{result:?}");
}

// Trusted sources.

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn trusted_sources_match() {
    let trusted = TrustedSources::parse(&[
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
        "192.0.2.7",
        "2001:db8::/32",
        "2001:db8:1::5",
    ])
    .unwrap();
    for inside in ["127.0.0.1", "10.0.0.0", "10.255.255.255", "::1", "192.0.2.7", "2001:db8:ffff::1"] {
        assert!(trusted.contains(ip(inside)), "{inside} should be trusted");
    }
    for outside in ["127.0.0.2", "11.0.0.0", "9.255.255.255", "::2", "192.0.2.8", "2001:db9::1", "::ffff:127.0.0.2"] {
        assert!(!trusted.contains(ip(outside)), "{outside} should not be trusted");
    }
}

#[test]
fn trusted_sources_mapped_ipv4() {
    let trusted = TrustedSources::parse(&["10.0.0.0/8"]).unwrap();
    assert!(trusted.contains(ip("::ffff:10.1.2.3")));
    assert!(!trusted.contains(ip("::ffff:11.1.2.3")));
    // The IPv4-compatible form (::a.b.c.d) is not an IPv4 address.
    assert!(!trusted.contains(ip("::10.1.2.3")));
}

#[test]
fn trusted_sources_zero_prefix() {
    let everything_v4 = TrustedSources::parse(&["0.0.0.0/0"]).unwrap();
    assert!(everything_v4.contains(ip("203.0.113.9")));
    assert!(!everything_v4.contains(ip("2001:db8::1")));
    let everything_v6 = TrustedSources::parse(&["::/0"]).unwrap();
    assert!(everything_v6.contains(ip("2001:db8::1")));
    assert!(!everything_v6.contains(ip("203.0.113.9")));
}

#[test]
fn trusted_sources_empty() {
    let trusted = TrustedSources::parse::<&str>(&[]).unwrap();
    assert!(trusted.is_empty());
    assert!(!trusted.contains(ip("127.0.0.1")));
}

#[test]
fn trusted_sources_every_error_reported() {
    let entries = [
        "10.0.0.0/8",
        "10.0.0.0/33",
        "banana",
        "10.0.0.1/8",
        "::1/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        " 10.0.0.0/8",
        "10.0.0.0/8/8",
        "",
        "fe80::1%eth0",
        "2001:db8::1/64",
    ];
    let errors = TrustedSources::parse(&entries).unwrap_err();
    assert_eq!(errors.len(), entries.len() - 1, "{errors:#?}");
    for (entry, error) in entries[1..].iter().zip(&errors) {
        assert!(error.starts_with(&format!("invalid trusted network \"{entry}\": ")), "{error}");
    }
    assert!(errors[0].ends_with("prefix length \"33\" is not a number from 0 to 32"), "{}", errors[0]);
    assert!(errors[1].ends_with("\"banana\" is not an IP address"), "{}", errors[1]);
    assert!(
        errors[2].ends_with(
            "bits are set after the /8 prefix; write 10.0.0.0/8 for the network or 10.0.0.1 for the single host"
        ),
        "{}",
        errors[2]
    );
    assert!(errors[3].ends_with("prefix length \"129\" is not a number from 0 to 128"), "{}", errors[3]);
}

proptest! {
    #[test]
    fn network_contains_own_addresses(address: IpAddr, prefix_seed: u8, flip_seed: u8) {
        let max_len: u8 = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = prefix_seed % (max_len + 1);
        let network = mask(address, prefix_len);
        let trusted = TrustedSources::parse(&[format!("{network}/{prefix_len}")]).unwrap();
        prop_assert!(trusted.contains(address));

        // Flipping a bit inside the prefix leaves the network.
        if prefix_len > 0 {
            let bit = u32::from(flip_seed % prefix_len);
            let outside = match address {
                IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) ^ (1 << (31 - bit)))),
                IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) ^ (1 << (127 - bit)))),
            };
            prop_assert!(!trusted.contains(outside), "{} in {}/{}", outside, network, prefix_len);
        }
    }
}
