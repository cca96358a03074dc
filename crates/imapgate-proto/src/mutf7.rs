//! Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3).

#[cfg(test)]
mod tests;

/// Why bytes are not canonical modified UTF-7.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Mutf7Error {
    #[error("byte {byte:#04x} at {at} is not printable US-ASCII")]
    NonAscii { at: usize, byte: u8 },
    #[error("unterminated shift sequence starting at {at}")]
    Unterminated { at: usize },
    #[error("invalid base64 in shift sequence starting at {at}")]
    InvalidBase64 { at: usize },
    #[error("invalid UTF-16 in shift sequence starting at {at}")]
    InvalidUtf16 { at: usize },
    #[error("non-canonical encoding at {at}")]
    NonCanonical { at: usize },
}

/// Decodes a modified UTF-7 name; rejects anything `encode` would not produce.
pub fn decode(bytes: &[u8]) -> Result<String, Mutf7Error> {
    let mut name = String::with_capacity(bytes.len());
    // Offset just after the last shift sequence that encoded characters.
    let mut last_shift_end = None;
    let mut at = 0;

    while let Some(&byte) = bytes.get(at) {
        if !is_printable(byte) {
            return Err(Mutf7Error::NonAscii { at, byte });
        }
        if byte != b'&' {
            name.push(char::from(byte));
            at += 1;
            continue;
        }

        // `&-` is an ampersand.
        let base64_end = find_shift_end(bytes, at)?;
        if base64_end == at + 1 {
            name.push('&');
            at = base64_end + 1;
            continue;
        }

        // Consecutive encoded characters belong in one shift sequence.
        if last_shift_end == Some(at) {
            return Err(Mutf7Error::NonCanonical { at });
        }
        let units = decode_base64(&bytes[at + 1..base64_end], at)?;
        decode_utf16(&units, at, &mut name)?;
        at = base64_end + 1;
        last_shift_end = Some(at);
    }
    Ok(name)
}

/// Encodes a Unicode name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    let mut units = Vec::new();
    for c in name.chars() {
        if u8::try_from(c).is_ok_and(is_printable) {
            flush_shift(&mut encoded, &mut units);
            if c == '&' {
                encoded.push_str("&-");
            } else {
                encoded.push(c);
            }
        } else {
            let mut buffer = [0; 2];
            units.extend_from_slice(c.encode_utf16(&mut buffer));
        }
    }
    flush_shift(&mut encoded, &mut units);
    encoded
}

/// Modified base64 (RFC 3501): standard base64 with `,` in place of `/`.
const BASE64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Checks whether `byte` is printable US-ASCII (0x20-0x7e). These characters
/// represent themselves, except `&`.
fn is_printable(byte: u8) -> bool {
    (0x20..=0x7e).contains(&byte)
}

fn base64_value(byte: u8) -> Option<u32> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Writes the pending UTF-16 `units` as one shift sequence and clears them.
fn flush_shift(encoded: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    encoded.push('&');

    // Emit six bits at a time, and pad the last group with zero bits.
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    for byte in units.iter().flat_map(|unit| unit.to_be_bytes()) {
        bits = (bits << 8) | u32::from(byte);
        bit_count += 8;
        while bit_count >= 6 {
            bit_count -= 6;
            encoded.push(char::from(BASE64_ALPHABET[(bits >> bit_count) as usize & 0x3f]));
        }
        bits &= (1 << bit_count) - 1;
    }
    if bit_count > 0 {
        encoded.push(char::from(BASE64_ALPHABET[(bits << (6 - bit_count)) as usize & 0x3f]));
    }

    encoded.push('-');
    units.clear();
}

/// Returns the offset of the `-` that ends the shift sequence starting with
/// the `&` at `start`.
fn find_shift_end(bytes: &[u8], start: usize) -> Result<usize, Mutf7Error> {
    let mut at = start + 1;
    while bytes.get(at).is_some_and(|&byte| base64_value(byte).is_some()) {
        at += 1;
    }
    match bytes.get(at) {
        Some(b'-') => Ok(at),
        None => Err(Mutf7Error::Unterminated { at: start }),
        Some(&byte) if !is_printable(byte) => Err(Mutf7Error::NonAscii { at, byte }),
        Some(_) => Err(Mutf7Error::InvalidBase64 { at: start }),
    }
}

/// Decodes the modified base64 between `&` and `-` into UTF-16 code units.
/// `start` is the offset of the `&`, for errors.
fn decode_base64(text: &[u8], start: usize) -> Result<Vec<u16>, Mutf7Error> {
    // One base64 character left over carries fewer than 8 bits.
    if text.len() % 4 == 1 {
        return Err(Mutf7Error::InvalidBase64 { at: start });
    }

    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    for &byte in text {
        let value = base64_value(byte).ok_or(Mutf7Error::InvalidBase64 { at: start })?;
        bits = (bits << 6) | value;
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            bytes.push((bits >> bit_count) as u8);
            bits &= (1 << bit_count) - 1;
        }
    }

    // The encoder pads with zero bits, so other padding bits are non-canonical.
    if bits != 0 {
        return Err(Mutf7Error::NonCanonical { at: start });
    }
    if bytes.len() % 2 != 0 {
        return Err(Mutf7Error::InvalidUtf16 { at: start });
    }
    let units = bytes.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]])).collect();
    Ok(units)
}

/// Appends the characters of `units` to `name`. Printable US-ASCII must not
/// be encoded, so it is rejected as non-canonical.
fn decode_utf16(units: &[u16], start: usize, name: &mut String) -> Result<(), Mutf7Error> {
    for decoded in char::decode_utf16(units.iter().copied()) {
        let c = decoded.map_err(|_| Mutf7Error::InvalidUtf16 { at: start })?;
        if u8::try_from(c).is_ok_and(is_printable) {
            return Err(Mutf7Error::NonCanonical { at: start });
        }
        name.push(c);
    }
    Ok(())
}
