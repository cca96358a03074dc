//! Name templates of `[[mailbox.map]]` rules, such as `Archive/{rest}`.
//!
//! A template is literal text with captures:
//! - `{name}` captures one or more characters;
//! - `{/name}`, where `/` stands for any ASCII punctuation character other
//!   than `_`, `{` and `}`, is optional: it matches nothing, or that
//!   character followed by one or more characters, which are captured;
//! - `{{` and `}}` stand for literal braces.
//!
//! Capture names are ASCII letters, digits and `_`, not starting with a digit.

use regex::Regex;
use std::fmt;

/// One capture of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    pub name: String,
    /// The character that introduces an optional capture (`/` in
    /// `{/rest}`); `None` for a required capture.
    pub delimiter: Option<char>,
}

impl Capture {
    pub fn is_optional(&self) -> bool {
        self.delimiter.is_some()
    }
}

impl fmt::Display for Capture {
    /// Writes the capture as it appears in a template.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.delimiter {
            Some(d) => write!(f, "{{{d}{}}}", self.name),
            None => write!(f, "{{{}}}", self.name),
        }
    }
}

#[derive(Clone, Debug)]
enum Segment {
    Literal(String),
    /// Index into `Template::captures`.
    Capture(usize),
}

/// A parsed template and the anchored regex that matches it.
#[derive(Clone, Debug)]
pub struct Template {
    segments: Vec<Segment>,
    captures: Vec<Capture>,
    regex: Regex,
}

/// A syntax error in a template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is empty; write a mailbox name, e.g. \"Archive/{{rest}}\"")]
    Empty,
    #[error("`{{` at byte {offset} is not closed; close the capture with `}}`, or write `{{{{` for a literal brace")]
    Unclosed { offset: usize },
    #[error("`}}` at byte {offset} has no opening `{{`; write `}}}}` for a literal brace")]
    UnmatchedClose { offset: usize },
    #[error(
        "`{{{text}}}` is not a valid capture; write `{{name}}`, or `{{/name}}` for an optional part \
         introduced by a delimiter, where name is ASCII letters, digits and `_`"
    )]
    InvalidCapture { text: String },
    #[error("capture `{{{name}}}` appears more than once; each name may be captured once per template")]
    DuplicateCapture { name: String },
}

impl Template {
    /// Parses a template and compiles its matching regex.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.is_empty() {
            return Err(TemplateError::Empty);
        }
        let (segments, captures) = parse_segments(source)?;
        let regex = build_regex(&segments, &captures);
        Ok(Template { segments, captures, regex })
    }

    /// Returns the captures in the order they appear.
    pub fn captures(&self) -> &[Capture] {
        &self.captures
    }

    /// Returns the captured values of `name` in the order of
    /// [`Template::captures`], or `None` when the template does not match
    /// the whole name. An optional capture that matched nothing is `""`, and
    /// its delimiter is not part of the value.
    pub fn match_name<'n>(&self, name: &'n str) -> Option<Vec<&'n str>> {
        // A matching name starts with the literal prefix. Checking that
        // first skips the regex search for most rules of a rule set.
        if !name.starts_with(self.literal_prefix()) {
            return None;
        }
        let found = self.regex.captures(name)?;
        let values = self.captures.iter().map(|c| found.name(&c.name).map_or("", |m| m.as_str())).collect();
        Some(values)
    }

    /// Builds a name from values given in the order of
    /// [`Template::captures`]; an empty optional value writes nothing.
    pub fn render(&self, values: &[String]) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Capture(index) => {
                    let value = &values[*index];
                    if let Some(d) = self.captures[*index].delimiter {
                        if value.is_empty() {
                            continue;
                        }
                        out.push(d);
                    }
                    out.push_str(value);
                }
            }
        }
        out
    }

    /// Returns the literal text before the first capture.
    pub fn literal_prefix(&self) -> &str {
        match self.segments.first() {
            Some(Segment::Literal(text)) => text,
            _ => "",
        }
    }

    /// Returns the literal text and the capture of a template that is
    /// literal text followed by one capture at its end (`Archive{/rest}`);
    /// `None` for every other shape.
    pub fn trailing_capture(&self) -> Option<(&str, &Capture)> {
        match self.segments.as_slice() {
            [Segment::Literal(text), Segment::Capture(index)] => Some((text, &self.captures[*index])),
            [Segment::Capture(index)] => Some(("", &self.captures[*index])),
            _ => None,
        }
    }

    /// Builds sample names that this template matches: one with every
    /// optional capture empty, one with all of them present. Every
    /// captured value is `x`.
    pub fn samples(&self) -> [String; 2] {
        let without: Vec<String> =
            self.captures.iter().map(|c| if c.is_optional() { String::new() } else { "x".to_owned() }).collect();
        let with = vec!["x".to_owned(); self.captures.len()];
        [self.render(&without), self.render(&with)]
    }
}

/// Splits a template into literal text and captures.
fn parse_segments(source: &str) -> Result<(Vec<Segment>, Vec<Capture>), TemplateError> {
    let mut segments = Vec::new();
    let mut captures: Vec<Capture> = Vec::new();
    let mut literal = String::new();
    let mut chars = source.char_indices().peekable();

    while let Some((offset, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, next)| next == '{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err(TemplateError::UnmatchedClose { offset }),
            '{' => {
                let rest = &source[offset + 1..];
                let end = rest.find(['}', '{']).filter(|&i| rest[i..].starts_with('}'));
                let Some(end) = end else {
                    return Err(TemplateError::Unclosed { offset });
                };
                let capture = parse_capture(&rest[..end])?;
                if captures.iter().any(|known| known.name == capture.name) {
                    return Err(TemplateError::DuplicateCapture { name: capture.name });
                }

                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Capture(captures.len()));
                captures.push(capture);

                // Skip the capture's text and its closing brace.
                while chars.next_if(|&(i, _)| i <= offset + 1 + end).is_some() {}
            }
            _ => literal.push(c),
        }
    }

    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok((segments, captures))
}

/// Parses the text between braces: `name` or `Dname`.
fn parse_capture(text: &str) -> Result<Capture, TemplateError> {
    let invalid = || TemplateError::InvalidCapture { text: text.to_owned() };
    let mut chars = text.chars();
    let first = chars.next().ok_or_else(invalid)?;

    let is_delimiter = first.is_ascii_punctuation() && !matches!(first, '_' | '{' | '}');
    let (delimiter, name) = if is_delimiter { (Some(first), chars.as_str()) } else { (None, text) };

    let mut name_chars = name.chars();
    let starts_well = name_chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !name_chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid());
    }
    Ok(Capture { name: name.to_owned(), delimiter })
}

/// Builds the anchored regex: literal text is escaped, a capture is a named
/// group of one or more characters, greedy.
fn build_regex(segments: &[Segment], captures: &[Capture]) -> Regex {
    let mut pattern = String::from(r"(?s)\A");
    for segment in segments {
        match segment {
            Segment::Literal(text) => pattern.push_str(&regex::escape(text)),
            Segment::Capture(index) => {
                let capture = &captures[*index];
                match capture.delimiter {
                    Some(d) => {
                        let d = regex::escape(&d.to_string());
                        pattern.push_str(&format!("(?:{d}(?P<{}>.+))?", capture.name));
                    }
                    None => pattern.push_str(&format!("(?P<{}>.+)", capture.name)),
                }
            }
        }
    }
    pattern.push_str(r"\z");

    // Names and escaped literals are valid by construction.
    Regex::new(&pattern).expect("a template regex is valid by construction")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(template: &Template, name: &str) -> Option<Vec<String>> {
        template.match_name(name).map(|v| v.into_iter().map(str::to_owned).collect())
    }

    #[test]
    fn parse_literal_only() {
        let t = Template::parse("INBOX.Sent Items").unwrap();
        assert!(t.captures().is_empty());
        assert_eq!(values(&t, "INBOX.Sent Items"), Some(vec![]));
        assert_eq!(values(&t, "INBOX.Sent Itemsx"), None);
        assert_eq!(values(&t, "INBOXxSent Items"), None, "the dot is literal, not a regex wildcard");
        assert_eq!(t.render(&[]), "INBOX.Sent Items");
    }

    #[test]
    fn required_capture_needs_characters() {
        let t = Template::parse("Archive/{rest}").unwrap();
        assert_eq!(t.captures(), &[Capture { name: "rest".into(), delimiter: None }]);
        assert_eq!(values(&t, "Archive/2023/Q1"), Some(vec!["2023/Q1".into()]));
        assert_eq!(values(&t, "Archive/"), None);
        assert_eq!(values(&t, "Archive"), None);
        assert_eq!(values(&t, "XArchive/a"), None);
        assert_eq!(t.render(&["a/b".into()]), "Archive/a/b");
    }

    #[test]
    fn optional_capture_matches_nothing_or_delimiter() {
        let t = Template::parse("INBOX.Sent{.rest}").unwrap();
        assert_eq!(t.captures(), &[Capture { name: "rest".into(), delimiter: Some('.') }]);
        assert_eq!(values(&t, "INBOX.Sent"), Some(vec!["".into()]));
        assert_eq!(values(&t, "INBOX.Sent.a.b"), Some(vec!["a.b".into()]));
        assert_eq!(values(&t, "INBOX.Sent."), None);
        assert_eq!(values(&t, "INBOX.Sentx"), None);
        assert_eq!(t.render(&["".into()]), "INBOX.Sent");
        assert_eq!(t.render(&["a.b".into()]), "INBOX.Sent.a.b");
    }

    #[test]
    fn several_captures_and_newlines() {
        let t = Template::parse("{year}-{month}").unwrap();
        assert_eq!(values(&t, "2023-01"), Some(vec!["2023".into(), "01".into()]));
        assert_eq!(t.render(&["a".into(), "b".into()]), "a-b");
        let t = Template::parse("x{rest}").unwrap();
        assert_eq!(values(&t, "xa\nb"), Some(vec!["a\nb".into()]));
    }

    #[test]
    fn literal_braces() {
        let t = Template::parse("{{x}}/{rest}").unwrap();
        assert_eq!(values(&t, "{x}/a"), Some(vec!["a".into()]));
        assert_eq!(t.render(&["b".into()]), "{x}/b");
    }

    #[test]
    fn samples_cover_optional_parts() {
        let t = Template::parse("Sent{/rest}").unwrap();
        assert_eq!(t.samples(), ["Sent".to_owned(), "Sent/x".to_owned()]);
        let t = Template::parse("A/{a}/{b}").unwrap();
        assert_eq!(t.samples(), ["A/x/x".to_owned(), "A/x/x".to_owned()]);
    }

    #[test]
    fn parse_errors() {
        let cases: &[(&str, TemplateError)] = &[
            ("", TemplateError::Empty),
            ("a{rest", TemplateError::Unclosed { offset: 1 }),
            ("a{re{st}", TemplateError::Unclosed { offset: 1 }),
            ("a}b", TemplateError::UnmatchedClose { offset: 1 }),
            ("a{}", TemplateError::InvalidCapture { text: "".into() }),
            ("{/}", TemplateError::InvalidCapture { text: "/".into() }),
            ("{1x}", TemplateError::InvalidCapture { text: "1x".into() }),
            ("{a-b}", TemplateError::InvalidCapture { text: "a-b".into() }),
            ("{//a}", TemplateError::InvalidCapture { text: "//a".into() }),
            ("{ rest}", TemplateError::InvalidCapture { text: " rest".into() }),
            ("{a}/{a}", TemplateError::DuplicateCapture { name: "a".into() }),
            ("{a}/{.a}", TemplateError::DuplicateCapture { name: "a".into() }),
        ];
        for (source, expected) in cases {
            assert_eq!(Template::parse(source).unwrap_err(), *expected, "template {source:?}");
        }
    }

    #[test]
    fn capture_display() {
        assert_eq!(Capture { name: "rest".into(), delimiter: None }.to_string(), "{rest}");
        assert_eq!(Capture { name: "rest".into(), delimiter: Some('/') }.to_string(), "{/rest}");
    }
}
