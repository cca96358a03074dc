//! Removes capabilities that imapgate cannot keep correct from what the
//! server announces.

/// Capabilities removed, matched ASCII case-insensitively; an entry ending
/// in `=` removes every capability with that prefix.
const REMOVED: &[&[u8]] = &[
    // imapgate does not terminate compression, so it could not frame the stream.
    b"COMPRESS=",
    // TLS with the client is imapgate's, not the server's.
    b"STARTTLS",
    b"LOGINDISABLED",
];

/// Rewrites the capability list of `* CAPABILITY …` or of a
/// `[CAPABILITY …]` response code in `line`; `None` when nothing is removed.
pub fn strip_capabilities(line: &[u8]) -> Option<Vec<u8>> {
    let (start, end) = capability_list(line)?;
    let list = &line[start..end];
    let kept: Vec<&[u8]> = list.split(|byte| *byte == b' ').filter(|name| !is_removed(name)).collect();
    if kept.len() == list.split(|byte| *byte == b' ').count() {
        return None;
    }
    let mut out = Vec::with_capacity(line.len());
    out.extend_from_slice(&line[..start]);
    out.extend_from_slice(&kept.join(&b' '));
    out.extend_from_slice(&line[end..]);
    Some(out)
}

/// The capability names of `* CAPABILITY …` or of a `[CAPABILITY …]`
/// response code in `line`, upper-cased; empty when there is none.
pub fn capability_names(line: &[u8]) -> Vec<String> {
    let Some((start, end)) = capability_list(line) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&line[start..end]).split_ascii_whitespace().map(|name| name.to_ascii_uppercase()).collect()
}

/// The byte range of the space-separated capability names in `line`.
fn capability_list(line: &[u8]) -> Option<(usize, usize)> {
    let content_end = line.len() - line.iter().rev().take_while(|byte| matches!(byte, b'\r' | b'\n')).count();
    if line.len() >= 13 && line[..13].eq_ignore_ascii_case(b"* CAPABILITY ") {
        return Some((13, content_end));
    }
    let code = find_ignore_case(line, b"[CAPABILITY ")?;
    let start = code + b"[CAPABILITY ".len();
    let end = start + memchr::memchr(b']', &line[start..content_end])?;
    Some((start, end))
}

fn is_removed(name: &[u8]) -> bool {
    REMOVED.iter().any(|removed| {
        if removed.ends_with(b"=") {
            name.len() >= removed.len() && name[..removed.len()].eq_ignore_ascii_case(removed)
        } else {
            name.eq_ignore_ascii_case(removed)
        }
    })
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window.eq_ignore_ascii_case(needle))
}

pub fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    find_ignore_case(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::strip_capabilities;

    #[test]
    fn untagged_capability_loses_compress() {
        let line = b"* CAPABILITY IMAP4rev1 LITERAL+ COMPRESS=DEFLATE IDLE\r\n";
        assert_eq!(strip_capabilities(line).unwrap(), b"* CAPABILITY IMAP4rev1 LITERAL+ IDLE\r\n");
    }

    #[test]
    fn response_code_loses_compress() {
        let line = b"a1 OK [CAPABILITY IMAP4rev1 compress=deflate SORT] Logged in\r\n";
        assert_eq!(strip_capabilities(line).unwrap(), b"a1 OK [CAPABILITY IMAP4rev1 SORT] Logged in\r\n");
    }

    #[test]
    fn unchanged_list_is_none() {
        assert_eq!(strip_capabilities(b"* CAPABILITY IMAP4rev1 IDLE\r\n"), None);
        assert_eq!(strip_capabilities(b"* OK [ALERT] hello\r\n"), None);
    }
}
