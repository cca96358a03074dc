//! IMAP LIST wildcards (RFC 3501 section 6.3.8) and the case rule of `INBOX`.
//!
//! `*` matches zero or more characters, `%` matches zero or more characters
//! other than the hierarchy delimiter. Matching is case-sensitive, except
//! that `INBOX` is normalized in both the pattern and the name first.

use std::borrow::Cow;

/// Writes `INBOX` in upper case when `name` is `inbox` in any case, or starts
/// with it followed by `delimiter`; other names are returned unchanged.
///
/// `inboxes` and, with `/` as delimiter, `inbox.foo` are left alone.
pub fn normalize_inbox(name: &str, delimiter: Option<char>) -> Cow<'_, str> {
    let Some(head) = name.get(..5) else {
        return Cow::Borrowed(name);
    };
    let rest = &name[5..];
    let is_inbox =
        head.eq_ignore_ascii_case("INBOX") && (rest.is_empty() || delimiter.is_some_and(|d| rest.starts_with(d)));
    if !is_inbox || head == "INBOX" {
        return Cow::Borrowed(name);
    }
    Cow::Owned(format!("INBOX{rest}"))
}

/// Tells whether `name` matches the LIST `pattern`.
///
/// A `None` delimiter means a flat namespace, where `%` is the same as `*`.
///
/// NOTE: only a pattern that is `inbox`, or starts with `inbox` and the
/// delimiter, is case-insensitive, so `Inbox*` does not match `INBOX`.
pub fn matches(pattern: &str, name: &str, delimiter: Option<char>) -> bool {
    if matches_everything(pattern) {
        return true;
    }
    let prefixes = matching_prefixes(pattern, name, delimiter);
    prefixes[prefixes.len() - 1]
}

/// Returns whether `pattern` is only `*` wildcards, as in `LIST "" "*"`, which
/// match every name, so the matching is skipped.
fn matches_everything(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.bytes().all(|byte| byte == b'*')
}

/// Returns the longest hierarchy parent of `name` that `pattern` matches,
/// when `name` itself does not match.
///
/// A parent is `name` cut before one of its delimiters (an empty cut is not
/// a parent). This is the name a server lists with `\Noselect` or
/// `\HasChildren` when a `%` pattern stops above `name`. The parent is
/// returned with `INBOX` normalized.
pub fn implied_parent(pattern: &str, name: &str, delimiter: Option<char>) -> Option<String> {
    let delimiter = delimiter?;
    if matches_everything(pattern) {
        return None;
    }
    let name = normalize_inbox(name, Some(delimiter));
    let prefixes = matching_prefixes(pattern, &name, Some(delimiter));
    if prefixes[prefixes.len() - 1] {
        return None;
    }

    // `prefixes` is indexed by character count, so walk the characters and
    // keep the last delimiter position whose prefix matched.
    let mut parent = None;
    for (count, (offset, c)) in name.char_indices().enumerate() {
        if c == delimiter && count > 0 && prefixes[count] {
            parent = Some(offset);
        }
    }
    parent.map(|end| name[..end].to_owned())
}

/// Computes, for every prefix of `name` (by character count, from 0 to the
/// whole name), whether `pattern` matches that prefix.
///
/// This is a dynamic program over the pattern, O(pattern × name) in time,
/// so patterns such as `*a*a*a*b` cannot backtrack exponentially.
fn matching_prefixes(pattern: &str, name: &str, delimiter: Option<char>) -> Vec<bool> {
    let pattern = normalize_inbox(pattern, delimiter);
    let name: Vec<char> = normalize_inbox(name, delimiter).chars().collect();

    // Row for the empty pattern: only the empty prefix matches.
    let mut row = vec![false; name.len() + 1];
    row[0] = true;

    let mut next = vec![false; name.len() + 1];
    for p in pattern.chars() {
        match p {
            '*' => {
                // Any prefix at or after the first matching one.
                let mut seen = false;
                for j in 0..=name.len() {
                    seen |= row[j];
                    next[j] = seen;
                }
            }
            '%' => {
                // Like `*`, but the extension must not cross a delimiter.
                next[0] = row[0];
                for j in 1..=name.len() {
                    let extends = next[j - 1] && Some(name[j - 1]) != delimiter;
                    next[j] = row[j] || extends;
                }
            }
            literal => {
                next[0] = false;
                for j in 1..=name.len() {
                    next[j] = row[j - 1] && name[j - 1] == literal;
                }
            }
        }
        std::mem::swap(&mut row, &mut next);
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_inbox_cases() {
        let cases = [
            ("inbox", Some('/'), "INBOX"),
            ("InBoX", None, "INBOX"),
            ("INBOX", Some('.'), "INBOX"),
            ("inbox/foo", Some('/'), "INBOX/foo"),
            ("inbox.foo", Some('/'), "inbox.foo"),
            ("inbox.foo", Some('.'), "INBOX.foo"),
            ("inbox/foo", None, "inbox/foo"),
            ("inboxes", Some('/'), "inboxes"),
            ("inbo", Some('/'), "inbo"),
            ("", Some('/'), ""),
            ("inbö/x", Some('/'), "inbö/x"),
        ];
        for (name, delimiter, expected) in cases {
            assert_eq!(normalize_inbox(name, delimiter), expected, "name {name:?} delimiter {delimiter:?}");
        }
    }

    #[test]
    fn matches_table() {
        let slash = Some('/');
        let cases: &[(&str, &str, Option<char>, bool)] = &[
            // Literals.
            ("Sent", "Sent", slash, true),
            ("Sent", "sent", slash, false),
            ("Sent", "Sent/x", slash, false),
            ("", "", slash, true),
            ("", "a", slash, false),
            // `*` anywhere.
            ("*", "", slash, true),
            ("*", "a/b/c", slash, true),
            ("**", "a/b/c", slash, true),
            ("a*", "a/b/c", slash, true),
            ("*c", "a/b/c", slash, true),
            ("*/*", "a/b/c", slash, true),
            ("*/*", "abc", slash, false),
            ("a*b*c", "axxbyyc", slash, true),
            ("a*b*c", "axxbyy", slash, false),
            ("**", "x/y", slash, true),
            // `%` stops at the delimiter.
            ("%", "a", slash, true),
            ("%", "", slash, true),
            ("%", "a/b", slash, false),
            ("%/%", "a/b", slash, true),
            ("%/%", "a/b/c", slash, false),
            ("a/%", "a/b", slash, true),
            ("a/%", "a/b/c", slash, false),
            ("a%", "abc", slash, true),
            ("%c", "a/c", slash, false),
            ("%/*", "a/b/c", slash, true),
            ("%%", "ab", slash, true),
            // `%` with another delimiter or none.
            ("%", "a/b", Some('.'), true),
            ("%", "a.b", Some('.'), false),
            ("%", "a.b/c", None, true),
            // INBOX is case-insensitive on both sides.
            ("inbox", "INBOX", slash, true),
            ("INBOX", "inbox", slash, true),
            ("inbox/%", "INBOX/Drafts", slash, true),
            ("INBOX/*", "Inbox/a/b", slash, true),
            ("inbox.%", "INBOX.Drafts", slash, false),
            ("inbox.%", "INBOX.Drafts", Some('.'), true),
            ("Inbox*", "INBOX", slash, false),
            ("*", "inbox", slash, true),
            // Non-ASCII characters are single characters.
            ("%", "Entwürfe", slash, true),
            ("Entw?rfe", "Entwürfe", slash, false),
            ("Entw%rfe", "Entwürfe", slash, true),
        ];
        for &(pattern, name, delimiter, expected) in cases {
            assert_eq!(
                matches(pattern, name, delimiter),
                expected,
                "pattern {pattern:?} name {name:?} delimiter {delimiter:?}"
            );
        }
    }

    #[test]
    fn matches_many_stars_quickly() {
        let name = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(50));
        let started = std::time::Instant::now();
        assert!(!matches(&pattern, &name, Some('/')));
        assert!(matches(&format!("{}*", "*a".repeat(50)), &name, Some('/')));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn implied_parent_table() {
        let slash = Some('/');
        let cases: &[(&str, &str, Option<char>, Option<&str>)] = &[
            ("%", "a/b", slash, Some("a")),
            ("%", "a/b/c", slash, Some("a")),
            ("%/%", "a/b/c", slash, Some("a/b")),
            ("a/%", "a/b/c/d", slash, Some("a/b")),
            ("*", "a/b", slash, None),
            ("%", "a", slash, None),
            ("b/%", "a/b/c", slash, None),
            ("%", "a/b", None, None),
            ("%", "/a", slash, None),
            ("%", "inbox/x", slash, Some("INBOX")),
            ("INBOX", "inbox/x/y", slash, Some("INBOX")),
            ("%", "a.b", Some('.'), Some("a")),
        ];
        for &(pattern, name, delimiter, expected) in cases {
            assert_eq!(
                implied_parent(pattern, name, delimiter).as_deref(),
                expected,
                "pattern {pattern:?} name {name:?} delimiter {delimiter:?}"
            );
        }
    }
}
