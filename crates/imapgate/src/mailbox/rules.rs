//! The mailbox rule engine: maps names between the client's and the
//! server's view, and decides which server names are hidden.
//!
//! Names here are decoded Unicode (modified UTF-7 is handled by the caller).
//!
//! Mapping a name, in either direction:
//! 1. `INBOX` in any case, alone or followed by the side's delimiter, is
//!    written `INBOX`.
//! 2. The first `[[mailbox.map]]` rule that matches the name rewrites it.
//!    Template rules translate hierarchy delimiters inside captured values.
//!    Regex rules output their replacement as is.
//! 3. A name that no rule matches gets only the delimiter mapping.
//! 4. A server name matched by a `[[mailbox.hide]]` regex is hidden.
//! 5. Round trip: a name is shown to the client only when it maps back to
//!    the same server name, and a client name reaches the server only when
//!    the server name is shown as that client name.
//!
//! Regex rules are matched with the regex's own anchoring, and a match that
//! does not cover the whole name does not count, so users should anchor
//! their regexes with `^…$`.

use std::collections::HashMap;
use std::sync::Mutex;

use super::config::{MailboxConfig, MapRuleConfig, RegexRewrite};
use super::pattern::normalize_inbox;
use super::template::Template;
use regex::Regex;

/// A problem in the `[mailbox]` section, with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct RuleError {
    /// Path of the offending key, e.g. `mailbox.map[2].client`.
    pub place: String,
    pub message: String,
}

/// Which rule produced a name: an index into `mailbox.map`, or `None` when
/// only the delimiter mapping applied.
pub type RuleIndex = Option<usize>;

/// Why a client name has no server name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unmappable {
    #[error("mailbox {name:?} does not exist")]
    Hidden { name: String },
    #[error("mailbox name {name:?} contains {delimiter:?}, the server's hierarchy delimiter")]
    ContainsServerDelimiter { name: String, delimiter: char },
}

/// Compiled `[mailbox]` rules.
#[derive(Debug)]
pub struct RuleSet {
    /// The configured client delimiter; the server's applies when unset.
    client_delimiter: Option<char>,
    /// One rule per `mailbox.map` entry, in the same order.
    rules: Vec<MapRule>,
    /// The `special_use` attribute of each rule, in the same order.
    special_use: Vec<Option<String>>,
    hide: Vec<Regex>,
    warnings: Vec<RuleError>,
    /// Results of [`RuleSet::to_client`], shared by every session of this
    /// rule set: clients list the same names again and again.
    client_names: Mutex<ClientNames>,
}

/// Client names by server delimiter and server name; `None` for hidden ones.
/// The name is the inner key, so a lookup by `&str` allocates nothing.
type ClientNames = HashMap<Option<char>, HashMap<Box<str>, Option<(String, RuleIndex)>>>;

/// Entries of the client-name cache per server delimiter above which it
/// starts over, so that its memory stays bounded (an estimated 10 MiB for
/// names of 30 bytes).
const CLIENT_NAME_CACHE: usize = 50_000;

#[derive(Debug)]
enum MapRule {
    Template(TemplateRule),
    Regex { to_server: Rewrite, to_client: Rewrite },
}

#[derive(Debug)]
struct TemplateRule {
    client: Template,
    server: Template,
    /// For each server capture, the index of the client capture that has
    /// the same name.
    server_from_client: Vec<usize>,
    /// For each client capture, the index of the same server capture.
    client_from_server: Vec<usize>,
}

#[derive(Debug)]
struct Rewrite {
    regex: Regex,
    replace: String,
}

/// Reason a value cannot be carried from one side's hierarchy to the other.
enum Untranslatable {
    /// The value contains the target's delimiter as an ordinary character.
    TargetDelimiter(char),
    /// The value contains the source's delimiter, and the target namespace
    /// is flat.
    FlatTarget,
}

impl RuleSet {
    /// Compiles and validates the rules, reporting every problem found.
    pub fn compile(config: &MailboxConfig) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        check_delimiter("mailbox.client_delimiter", config.client_delimiter, &mut errors);
        check_delimiter("mailbox.server_delimiter", config.server_delimiter, &mut errors);

        let mut rules = Vec::new();
        let mut special_use = Vec::new();
        for (index, entry) in config.map.iter().enumerate() {
            let place = format!("mailbox.map[{index}]");
            if let Some(rule) = compile_map_rule(&place, entry, config, &mut errors) {
                rules.push(rule);
            }
            special_use.push(check_special_use(&place, entry.special_use.as_deref(), &mut errors));
        }

        let mut hide = Vec::new();
        for (index, entry) in config.hide.iter().enumerate() {
            let place = format!("mailbox.hide[{index}].server");
            if let Some(regex) = compile_regex(&place, &entry.server, &mut errors) {
                hide.push(regex);
            }
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        let mut warnings = overlap_warnings(&rules);
        warnings.extend(inbox_case_warnings(&rules));
        Ok(RuleSet {
            client_delimiter: config.client_delimiter,
            rules,
            special_use,
            hide,
            warnings,
            client_names: Mutex::default(),
        })
    }

    /// Warnings that do not stop the config from loading (overlapping
    /// template rules, for example).
    pub fn warnings(&self) -> &[RuleError] {
        &self.warnings
    }

    /// Maps a client name to the server name, given the server's delimiter.
    pub fn to_server(&self, client: &str, server_delimiter: Option<char>) -> Result<(String, RuleIndex), Unmappable> {
        let hidden = || Unmappable::Hidden { name: client.to_owned() };
        let client_delimiter = self.client_delimiter(server_delimiter);
        let normalized = normalize_inbox(client, client_delimiter);

        let (server, index) = self.server_name_of(&normalized, server_delimiter).map_err(|e| match e {
            Untranslatable::TargetDelimiter(delimiter) => {
                Unmappable::ContainsServerDelimiter { name: client.to_owned(), delimiter }
            }
            Untranslatable::FlatTarget => hidden(),
        })?;
        if self.is_hidden(&server) {
            return Err(hidden());
        }

        // The client may only reach a server name that is shown under the
        // same client name.
        match self.client_name_of(&server, server_delimiter) {
            Some((shown, _)) if shown == normalized => Ok((server, index)),
            _ => Err(hidden()),
        }
    }

    /// Maps a server name to the client name; `None` when the name is hidden
    /// or does not map back to itself.
    pub fn to_client(&self, server: &str, server_delimiter: Option<char>) -> Option<(String, RuleIndex)> {
        if let Some(found) = self.cache().get(&server_delimiter).and_then(|names| names.get(server)) {
            return found.clone();
        }
        // Mapped without the lock, so other sessions are not held up.
        let mapped = self.map_to_client(server, server_delimiter);
        let mut cache = self.cache();
        let names = cache.entry(server_delimiter).or_default();
        if names.len() >= CLIENT_NAME_CACHE {
            names.clear();
        }
        names.insert(Box::from(server), mapped.clone());
        mapped
    }

    /// Locks the client-name cache. A panic while it was locked leaves it
    /// usable, since each entry is written whole.
    fn cache(&self) -> std::sync::MutexGuard<'_, ClientNames> {
        self.client_names.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Maps a server name as [`RuleSet::to_client`] does, without the cache.
    fn map_to_client(&self, server: &str, server_delimiter: Option<char>) -> Option<(String, RuleIndex)> {
        let normalized = normalize_inbox(server, server_delimiter);
        if self.is_hidden(&normalized) {
            return None;
        }
        let (client, index) = self.client_name_of(&normalized, server_delimiter)?;

        // Hide names that do not map back, so two server names never share
        // one client name.
        let back = self.server_name_of(&client, server_delimiter).ok()?;
        (back.0 == normalized).then_some((client, index))
    }

    /// The delimiter shown to clients for a server delimiter.
    pub fn client_delimiter(&self, server_delimiter: Option<char>) -> Option<char> {
        self.client_delimiter.or(server_delimiter)
    }

    /// The special-use attribute that rule `index` adds to LIST entries.
    pub fn special_use(&self, index: RuleIndex) -> Option<&str> {
        self.special_use.get(index?)?.as_deref()
    }

    /// Whether any rule adds a special-use attribute.
    pub fn has_special_use(&self) -> bool {
        self.special_use.iter().any(Option::is_some)
    }

    /// Names the rule for notes and logs: `mailbox.map[2]`, or the
    /// delimiter mapping when no rule matched.
    pub fn rule_label(index: RuleIndex) -> String {
        match index {
            Some(index) => format!("mailbox.map[{index}]"),
            None => "delimiter mapping".to_owned(),
        }
    }

    /// Explains why [`RuleSet::to_client`] returns `None` for `server`.
    pub fn hidden_reason(&self, server: &str, server_delimiter: Option<char>) -> &'static str {
        let normalized = normalize_inbox(server, server_delimiter);
        if self.is_hidden(&normalized) {
            "matches a mailbox.hide rule"
        } else if self.client_name_of(&normalized, server_delimiter).is_none() {
            "contains the client's hierarchy delimiter as an ordinary character"
        } else {
            "its client name does not map back to it"
        }
    }

    /// Whether a map rule may produce client names that do not start with
    /// `prefix` (nor equal it without its final delimiter). Regex rules
    /// always may, because their output cannot be predicted.
    pub fn maps_outside(&self, prefix: &str, client_delimiter: Option<char>) -> bool {
        let bare = client_delimiter.and_then(|d| prefix.strip_suffix(d)).unwrap_or(prefix);
        self.rules.iter().any(|rule| match rule {
            MapRule::Template(t) => {
                let literal = t.client.literal_prefix();
                !(literal.starts_with(prefix) || literal == bare)
            }
            MapRule::Regex { .. } => true,
        })
    }

    /// Translates a client LIST pattern (reference and pattern joined, with
    /// wildcards) into a server pattern, when every client name it can
    /// match is mapped by one template rule of the form `literal{capture}`
    /// or `literal{/capture}`. `None` means the server must be asked for
    /// a superset.
    ///
    /// The server's response still goes through [`RuleSet::to_client`] and
    /// the client's pattern, so a name that another rule maps is never
    /// shown wrongly; the translation only has to miss nothing.
    pub fn server_pattern(&self, client_pattern: &str, server_delimiter: Option<char>) -> Option<String> {
        let head = &client_pattern[..client_pattern.find(['*', '%'])?];
        // INBOX is matched in any case, so its prefixes are left to the superset.
        let inbox_like = head.get(..5).is_some_and(|start| start.eq_ignore_ascii_case("INBOX"))
            || "INBOX".get(..head.len()).is_some_and(|start| start.eq_ignore_ascii_case(head));
        if inbox_like {
            return None;
        }
        let client_delimiter = self.client_delimiter(server_delimiter);
        for rule in &self.rules {
            let MapRule::Template(template) = rule else {
                return None;
            };
            let literal = template.client.literal_prefix();
            if let (Some((client_literal, capture)), Some((server_literal, server_capture))) =
                (template.client.trailing_capture(), template.server.trailing_capture())
                && head.starts_with(client_literal)
                && (head.len() > client_literal.len() || ends_with_delimiter(client_literal, client_delimiter))
            {
                // NOTE: a pattern that stops right after a delimiter (`Lists/%`)
                // also matches the name `Lists/`, which the rule does not map.
                // It is left out because servers keep no names that end with
                // their delimiter.
                let mut rest = &client_pattern[client_literal.len()..];
                if let Some(d) = capture.delimiter {
                    rest = rest.strip_prefix(d)?;
                }
                let mut server = server_literal.to_owned();
                server.extend(server_capture.delimiter);
                server.push_str(&translate_pattern(rest, client_delimiter, server_delimiter)?);
                return Some(server);
            }
            // An earlier rule that might match names starting with `head`.
            if literal.is_empty() || literal.starts_with(head) || head.starts_with(literal) {
                return None;
            }
        }
        None
    }

    fn is_hidden(&self, server: &str) -> bool {
        self.hide.iter().any(|regex| regex.is_match(server))
    }

    /// Maps a client name to a server name one way, without the hide rules
    /// and the round-trip check. `client` must be INBOX-normalized, and the
    /// result is.
    fn server_name_of(
        &self,
        client: &str,
        server_delimiter: Option<char>,
    ) -> Result<(String, RuleIndex), Untranslatable> {
        let client_delimiter = self.client_delimiter(server_delimiter);
        let mut mapped = None;
        for (index, rule) in self.rules.iter().enumerate() {
            let rewritten = match rule {
                MapRule::Template(t) => t.to_server(client, client_delimiter, server_delimiter),
                MapRule::Regex { to_server, .. } => to_server.apply(client).map(Ok),
            };
            if let Some(name) = rewritten {
                mapped = Some((name?, Some(index)));
                break;
            }
        }
        let (server, index) = match mapped {
            Some(found) => found,
            None => (translate(client, client_delimiter, server_delimiter)?, None),
        };
        Ok((normalize_inbox(&server, server_delimiter).into_owned(), index))
    }

    /// Maps a server name to a client name one way, without the hide rules
    /// and the round-trip check. `server` must be INBOX-normalized, and the
    /// result is.
    fn client_name_of(&self, server: &str, server_delimiter: Option<char>) -> Option<(String, RuleIndex)> {
        let client_delimiter = self.client_delimiter(server_delimiter);
        let mut mapped = None;
        for (index, rule) in self.rules.iter().enumerate() {
            let rewritten = match rule {
                MapRule::Template(t) => t.to_client(server, server_delimiter, client_delimiter),
                MapRule::Regex { to_client, .. } => to_client.apply(server).map(Ok),
            };
            if let Some(name) = rewritten {
                mapped = Some((name.ok()?, Some(index)));
                break;
            }
        }
        let (client, index) = match mapped {
            Some(found) => found,
            None => (translate(server, server_delimiter, client_delimiter).ok()?, None),
        };
        Some((normalize_inbox(&client, client_delimiter).into_owned(), index))
    }
}

impl TemplateRule {
    /// Rewrites a client name, or returns `None` when the client template
    /// does not match.
    fn to_server(
        &self,
        client: &str,
        client_delimiter: Option<char>,
        server_delimiter: Option<char>,
    ) -> Option<Result<String, Untranslatable>> {
        let values = self.client.match_name(client)?;
        let values = translate_values(&values, &self.server_from_client, client_delimiter, server_delimiter);
        Some(values.map(|values| self.server.render(&values)))
    }

    /// Rewrites a server name, or returns `None` when the server template
    /// does not match.
    fn to_client(
        &self,
        server: &str,
        server_delimiter: Option<char>,
        client_delimiter: Option<char>,
    ) -> Option<Result<String, Untranslatable>> {
        let values = self.server.match_name(server)?;
        let values = translate_values(&values, &self.client_from_server, server_delimiter, client_delimiter);
        Some(values.map(|values| self.client.render(&values)))
    }
}

/// Reorders captured values for the other template (`order[k]` is the
/// index of the value for its `k`th capture) and translates their
/// delimiters.
fn translate_values(
    values: &[&str],
    order: &[usize],
    from: Option<char>,
    to: Option<char>,
) -> Result<Vec<String>, Untranslatable> {
    order.iter().map(|&source| translate(values[source], from, to)).collect()
}

impl Rewrite {
    /// Returns the replacement when the regex matches the whole name.
    fn apply(&self, name: &str) -> Option<String> {
        let captures = self.regex.captures(name)?;
        let whole = captures.get(0)?;
        if whole.start() != 0 || whole.end() != name.len() {
            return None;
        }
        let mut out = String::new();
        captures.expand(&self.replace, &mut out);
        Some(out)
    }
}

/// Carries a name or captured value from one hierarchy to the other: every
/// `from` delimiter becomes the `to` delimiter.
fn translate(value: &str, from: Option<char>, to: Option<char>) -> Result<String, Untranslatable> {
    if from == to {
        return Ok(value.to_owned());
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if Some(c) == to {
            return Err(Untranslatable::TargetDelimiter(c));
        }
        if Some(c) == from {
            out.push(to.ok_or(Untranslatable::FlatTarget)?);
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn ends_with_delimiter(text: &str, delimiter: Option<char>) -> bool {
    delimiter.is_some_and(|d| text.ends_with(d))
}

/// Carries the part of a LIST pattern after a rule's literal prefix to the
/// server's hierarchy. Returns `None` when the pattern contains the
/// server's delimiter as an ordinary character, or when the server is flat.
fn translate_pattern(pattern: &str, from: Option<char>, to: Option<char>) -> Option<String> {
    if from == to {
        return Some(pattern.to_owned());
    }
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if Some(c) == to {
            return None;
        }
        out.push(if Some(c) == from { to? } else { c });
    }
    Some(out)
}

/// The special-use attributes of RFC 6154.
const SPECIAL_USE: &[&str] = &["\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"];

/// Checks a `special_use` value and returns it in its standard spelling.
fn check_special_use(place: &str, value: Option<&str>, errors: &mut Vec<RuleError>) -> Option<String> {
    let value = value?;
    let known = SPECIAL_USE.iter().find(|known| known.eq_ignore_ascii_case(value));
    if known.is_none() {
        let message =
            format!("special_use {value:?} is not a special-use attribute; use one of {}", SPECIAL_USE.join(", "));
        errors.push(RuleError { place: format!("{place}.special_use"), message });
    }
    known.map(|known| (*known).to_owned())
}

/// Reports a delimiter that is not printable ASCII other than space, or that
/// LIST patterns would read as a wildcard.
fn check_delimiter(place: &str, delimiter: Option<char>, errors: &mut Vec<RuleError>) {
    let Some(d) = delimiter else {
        return;
    };
    let message = if !d.is_ascii_graphic() {
        format!(
            "{d:?} is not a valid hierarchy delimiter; use one printable ASCII character other than space, such as \"/\" or \".\""
        )
    } else if d == '*' || d == '%' {
        format!(
            "{d:?} is a LIST wildcard and cannot be a hierarchy delimiter; use another printable ASCII character, such as \"/\" or \".\""
        )
    } else {
        return;
    };
    errors.push(RuleError { place: place.to_owned(), message });
}

fn compile_regex(place: &str, pattern: &str, errors: &mut Vec<RuleError>) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(regex) => Some(regex),
        Err(e) => {
            errors.push(RuleError { place: place.to_owned(), message: format!("invalid regex {pattern:?}: {e}") });
            None
        }
    }
}

/// Compiles one `[[mailbox.map]]` entry, which must use exactly one of the
/// two forms.
fn compile_map_rule(
    place: &str,
    entry: &MapRuleConfig,
    config: &MailboxConfig,
    errors: &mut Vec<RuleError>,
) -> Option<MapRule> {
    let error = |message: &str| RuleError { place: place.to_owned(), message: message.to_owned() };
    let is_template = entry.client.is_some() || entry.server.is_some();
    let is_regex = entry.to_server.is_some() || entry.to_client.is_some();

    match (&entry.client, &entry.server, &entry.to_server, &entry.to_client) {
        _ if is_template && is_regex => {
            errors.push(error(
                "mixes the template form (client, server) with the regex form (to_server, to_client); \
                 use one form per entry",
            ));
            None
        }
        (Some(client), Some(server), None, None) => {
            compile_template_rule(place, client, server, config, errors).map(MapRule::Template)
        }
        (None, None, Some(to_server), Some(to_client)) => {
            let to_server = compile_rewrite(&format!("{place}.to_server"), to_server, errors);
            let to_client = compile_rewrite(&format!("{place}.to_client"), to_client, errors);
            Some(MapRule::Regex { to_server: to_server?, to_client: to_client? })
        }
        (Some(_), None, ..) => missing(errors, error("has client but no server template; add server = \"…\"")),
        (None, Some(_), ..) => missing(errors, error("has server but no client template; add client = \"…\"")),
        (.., Some(_), None) => missing(errors, error("has to_server but no to_client; both directions are required")),
        (.., None, Some(_)) => missing(errors, error("has to_client but no to_server; both directions are required")),
        _ => missing(errors, error("is empty; set client and server, or to_server and to_client")),
    }
}

fn missing(errors: &mut Vec<RuleError>, error: RuleError) -> Option<MapRule> {
    errors.push(error);
    None
}

fn compile_rewrite(place: &str, rewrite: &RegexRewrite, errors: &mut Vec<RuleError>) -> Option<Rewrite> {
    let regex = compile_regex(&format!("{place}.match"), &rewrite.pattern, errors)?;
    let mut valid = true;
    for reference in replacement_references(&rewrite.replace) {
        let defined = match reference.parse::<usize>() {
            Ok(number) => number < regex.captures_len(),
            Err(_) => regex.capture_names().any(|name| name == Some(reference)),
        };
        if !defined {
            valid = false;
            let message = format!(
                "replacement {:?} refers to group {reference:?}, which the regex does not define; \
                 write ${{1}}x or ${{name}}x to put text right after a group reference",
                rewrite.replace
            );
            errors.push(RuleError { place: format!("{place}.replace"), message });
        }
    }
    valid.then_some(Rewrite { regex, replace: rewrite.replace.clone() })
}

/// Lists the group references in a replacement with the `regex` crate's
/// syntax: `$$` is a literal `$`, `${name}` is braced, and `$name` takes the
/// longest run of ASCII letters, digits and `_`.
fn replacement_references(replace: &str) -> Vec<&str> {
    let mut references = Vec::new();
    let mut rest = replace;
    while let Some(start) = rest.find('$') {
        rest = &rest[start + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
        } else if let Some(braced) = rest.strip_prefix('{') {
            // Without a closing brace the `$` is literal text.
            if let Some(end) = braced.find('}') {
                references.push(&braced[..end]);
                rest = &braced[end + 1..];
            }
        } else {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if end > 0 {
                references.push(&rest[..end]);
                rest = &rest[end..];
            }
        }
    }
    references
}

fn compile_template_rule(
    place: &str,
    client: &str,
    server: &str,
    config: &MailboxConfig,
    errors: &mut Vec<RuleError>,
) -> Option<TemplateRule> {
    let client_place = format!("{place}.client");
    let server_place = format!("{place}.server");
    let parse = |place: &str, source: &str, errors: &mut Vec<RuleError>| {
        Template::parse(source)
            .map_err(|e| {
                errors.push(RuleError { place: place.to_owned(), message: format!("template {source:?}: {e}") })
            })
            .ok()
    };
    let client = parse(&client_place, client, errors);
    let server = parse(&server_place, server, errors);
    let (client, server) = (client?, server?);

    let before = errors.len();
    check_optional_delimiters(&client_place, &client, config.client_delimiter, "client_delimiter", errors);
    check_optional_delimiters(&server_place, &server, config.server_delimiter, "server_delimiter", errors);
    let server_from_client = pair_captures(&server_place, &server, &client, errors);
    let client_from_server = pair_captures(&client_place, &client, &server, errors);
    if errors.len() > before {
        return None;
    }
    Some(TemplateRule {
        client,
        server,
        server_from_client: server_from_client?,
        client_from_server: client_from_server?,
    })
}

/// Checks that optional captures use the side's configured delimiter.
fn check_optional_delimiters(
    place: &str,
    template: &Template,
    configured: Option<char>,
    key: &str,
    errors: &mut Vec<RuleError>,
) {
    let Some(configured) = configured else {
        return;
    };
    for capture in template.captures() {
        let Some(d) = capture.delimiter.filter(|&d| d != configured) else {
            continue;
        };
        let message = format!(
            "optional capture {capture} starts with {d:?}, but mailbox.{key} is {configured:?}; write {{{configured}{}}}",
            capture.name
        );
        errors.push(RuleError { place: place.to_owned(), message });
    }
}

/// Finds, for each capture of `template`, the capture of `other` with the
/// same name. Errors are reported at `place`, the place of `template`.
fn pair_captures(
    place: &str,
    template: &Template,
    other: &Template,
    errors: &mut Vec<RuleError>,
) -> Option<Vec<usize>> {
    let mut order = Vec::new();
    for capture in template.captures() {
        let found = other.captures().iter().position(|c| c.name == capture.name);
        let Some(index) = found else {
            let message = format!(
                "capture {capture} does not appear in the other template; both templates must use the same capture names"
            );
            errors.push(RuleError { place: place.to_owned(), message });
            continue;
        };
        let counterpart = &other.captures()[index];
        if counterpart.is_optional() != capture.is_optional() {
            let message = format!(
                "capture {capture} is written {counterpart} in the other template; \
                 a capture must be optional on both sides or on neither"
            );
            errors.push(RuleError { place: place.to_owned(), message });
            continue;
        }
        order.push(index);
    }
    (order.len() == template.captures().len()).then_some(order)
}

/// Warns about template rules that an earlier rule shadows.
///
/// This is a heuristic: a later template rule is reported when an earlier
/// rule matches one of its sample names (each capture filled with `x`,
/// optional captures both empty and filled), separately on the client and
/// the server side. Regex rules are checked as earlier rules only, because
/// no sample name can be derived from a regex.
fn overlap_warnings(rules: &[MapRule]) -> Vec<RuleError> {
    let mut warnings = Vec::new();
    for (later, rule) in rules.iter().enumerate() {
        let MapRule::Template(template) = rule else {
            continue;
        };
        for (side, samples) in [("client", template.client.samples()), ("server", template.server.samples())] {
            let shadow = rules[..later]
                .iter()
                .enumerate()
                .find_map(|(earlier, r)| samples.iter().find(|s| r.matches_side(side, s)).map(|s| (earlier, s)));
            if let Some((earlier, sample)) = shadow {
                let message = format!(
                    "mailbox.map[{earlier}] also matches {side} names such as {sample:?} and comes first, \
                     so this rule never applies to them; put the more specific rule first"
                );
                warnings.push(RuleError { place: format!("mailbox.map[{later}].{side}"), message });
            }
        }
    }
    warnings
}

/// Warns about templates that start with `inbox` in another case than
/// `INBOX`, such as `Inbox/{rest}`.
///
/// Names are matched after `INBOX` is normalized to upper case, so such a
/// template never matches when the character after `inbox` is the side's
/// delimiter. The delimiter may be unknown here, so any ASCII punctuation
/// character after `inbox` (or nothing) counts.
fn inbox_case_warnings(rules: &[MapRule]) -> Vec<RuleError> {
    let mut warnings = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let MapRule::Template(template) = rule else {
            continue;
        };
        for (side, prefix) in
            [("client", template.client.literal_prefix()), ("server", template.server.literal_prefix())]
        {
            let Some(head) = prefix.get(..5) else {
                continue;
            };
            let next = prefix[5..].chars().next();
            if head.eq_ignore_ascii_case("INBOX") && head != "INBOX" && next.is_none_or(|c| c.is_ascii_punctuation()) {
                let message = format!(
                    "the template starts with {head:?}, but names are matched with INBOX in upper case, \
                     so this rule may never apply; write INBOX"
                );
                warnings.push(RuleError { place: format!("mailbox.map[{index}].{side}"), message });
            }
        }
    }
    warnings
}

impl MapRule {
    /// Tells whether this rule applies to `name` on the `client` or `server` side.
    fn matches_side(&self, side: &str, name: &str) -> bool {
        match (self, side) {
            (MapRule::Template(t), "client") => t.client.match_name(name).is_some(),
            (MapRule::Template(t), _) => t.server.match_name(name).is_some(),
            (MapRule::Regex { to_server, .. }, "client") => to_server.apply(name).is_some(),
            (MapRule::Regex { to_client, .. }, _) => to_client.apply(name).is_some(),
        }
    }
}

#[cfg(test)]
mod tests;
