use super::*;
use proptest::prelude::*;

/// Parses the body of a `[mailbox]` section.
fn config(toml_text: &str) -> MailboxConfig {
    toml::from_str(toml_text).expect("test config parses")
}

fn rules(toml_text: &str) -> RuleSet {
    RuleSet::compile(&config(toml_text)).expect("test rules compile")
}

fn errors(toml_text: &str) -> Vec<RuleError> {
    RuleSet::compile(&config(toml_text)).expect_err("test rules are invalid")
}

fn client_of(set: &RuleSet, server: &str, delimiter: Option<char>) -> Option<String> {
    set.to_client(server, delimiter).map(|(name, _)| name)
}

fn server_of(set: &RuleSet, client: &str, delimiter: Option<char>) -> Result<String, Unmappable> {
    set.to_server(client, delimiter).map(|(name, _)| name)
}

fn hidden(name: &str) -> Unmappable {
    Unmappable::Hidden { name: name.to_owned() }
}

const EXAMPLE: &str = r#"
client_delimiter = "/"
[[map]]
client = "Sent"
server = "INBOX.Sent Items"
[[map]]
client = "Archive/{rest}"
server = "INBOX.Archive.{rest}"
[[hide]]
server = '^INBOX\.Spam$'
"#;

const DOT: Option<char> = Some('.');
const SLASH: Option<char> = Some('/');

#[test]
fn example_to_client() {
    let set = rules(EXAMPLE);
    assert_eq!(set.to_client("INBOX.Sent Items", DOT), Some(("Sent".into(), Some(0))));
    assert_eq!(set.to_client("INBOX.Archive.2023", DOT), Some(("Archive/2023".into(), Some(1))));
    assert_eq!(set.to_client("INBOX.Archive.2023.Q1", DOT), Some(("Archive/2023/Q1".into(), Some(1))));
    assert_eq!(set.to_client("INBOX.Drafts", DOT), Some(("INBOX/Drafts".into(), None)));
    assert_eq!(set.to_client("INBOX", DOT), Some(("INBOX".into(), None)));
    assert_eq!(client_of(&set, "inbox", DOT).as_deref(), Some("INBOX"));
    assert_eq!(client_of(&set, "inbox.Drafts", DOT).as_deref(), Some("INBOX/Drafts"));
    assert_eq!(client_of(&set, "Spam", DOT).as_deref(), Some("Spam"));
}

#[test]
fn example_to_client_hides() {
    let set = rules(EXAMPLE);
    assert_eq!(set.to_client("INBOX.Spam", DOT), None, "hide rule");
    assert_eq!(set.to_client("inbox.Spam", DOT), None, "hide rule after INBOX normalization");
    assert_eq!(set.to_client("INBOX.a/b", DOT), None, "contains the client delimiter");
    assert_eq!(set.to_client("INBOX.Archive", DOT), Some(("INBOX/Archive".into(), None)));
    assert_eq!(set.to_client("INBOX.Archive.a/b", DOT), None, "captured value contains the client delimiter");
    assert_eq!(client_of(&set, "INBOX.Archive.", DOT).as_deref(), Some("INBOX/Archive/"), "rest must not be empty");
}

#[test]
fn cached_results_match_fresh_ones() {
    let set = rules(EXAMPLE);
    let names = ["INBOX.Sent Items", "INBOX.Archive.2023", "INBOX.Spam", "INBOX.Drafts", "inbox.Spam"];
    for delimiter in [DOT, SLASH, None] {
        for name in names {
            let fresh = set.map_to_client(name, delimiter);
            assert_eq!(set.to_client(name, delimiter), fresh, "first lookup of {name:?} with {delimiter:?}");
            assert_eq!(set.to_client(name, delimiter), fresh, "cached lookup of {name:?} with {delimiter:?}");
        }
    }
}

#[test]
fn client_name_cache_stays_bounded() {
    let set = rules(EXAMPLE);
    for index in 0..CLIENT_NAME_CACHE + 10 {
        set.to_client(&format!("INBOX.Archive.{index}"), DOT);
    }
    let cached: usize = set.cache().values().map(HashMap::len).sum();
    assert!(cached <= CLIENT_NAME_CACHE);
    assert_eq!(set.to_client("INBOX.Archive.7", DOT), Some(("Archive/7".into(), Some(1))));
}

#[test]
fn example_to_server() {
    let set = rules(EXAMPLE);
    assert_eq!(set.to_server("Sent", DOT), Ok(("INBOX.Sent Items".into(), Some(0))));
    assert_eq!(set.to_server("Archive/2023/Q1", DOT), Ok(("INBOX.Archive.2023.Q1".into(), Some(1))));
    assert_eq!(set.to_server("INBOX/Drafts", DOT), Ok(("INBOX.Drafts".into(), None)));
    assert_eq!(set.to_server("Spam", DOT), Ok(("Spam".into(), None)));
    assert_eq!(server_of(&set, "inbox", DOT).as_deref(), Ok("INBOX"));
    assert_eq!(server_of(&set, "Inbox/Drafts", DOT).as_deref(), Ok("INBOX.Drafts"));
}

#[test]
fn example_to_server_rejects() {
    let set = rules(EXAMPLE);
    assert_eq!(server_of(&set, "INBOX/Spam", DOT), Err(hidden("INBOX/Spam")));
    assert_eq!(server_of(&set, "inbox/Spam", DOT), Err(hidden("inbox/Spam")));
    assert_eq!(
        server_of(&set, "INBOX.Spam", DOT),
        Err(Unmappable::ContainsServerDelimiter { name: "INBOX.Spam".into(), delimiter: '.' })
    );
    assert_eq!(
        server_of(&set, "Archive/a.b", DOT),
        Err(Unmappable::ContainsServerDelimiter { name: "Archive/a.b".into(), delimiter: '.' })
    );
    assert_eq!(server_of(&set, "INBOX/Sent Items", DOT), Err(hidden("INBOX/Sent Items")), "shown as Sent");
    assert_eq!(server_of(&set, "INBOX/Archive/x", DOT), Err(hidden("INBOX/Archive/x")), "shown as Archive/x");
}

#[test]
fn example_has_no_warnings() {
    assert_eq!(rules(EXAMPLE).warnings(), &[]);
}

#[test]
fn client_delimiter_falls_back_to_server() {
    let set = rules(EXAMPLE);
    assert_eq!(set.client_delimiter(DOT), SLASH);
    assert_eq!(set.client_delimiter(None), SLASH);
    let set = rules("");
    assert_eq!(set.client_delimiter(DOT), DOT);
    assert_eq!(set.client_delimiter(None), None);
}

#[test]
fn optional_capture_covers_subtree() {
    let set = rules(
        r#"
        client_delimiter = "/"
        [[map]]
        client = "Sent{/rest}"
        server = "INBOX.Sent{.rest}"
        "#,
    );
    assert_eq!(client_of(&set, "INBOX.Sent", DOT).as_deref(), Some("Sent"));
    assert_eq!(client_of(&set, "INBOX.Sent.a", DOT).as_deref(), Some("Sent/a"));
    assert_eq!(client_of(&set, "INBOX.Sent.a.b", DOT).as_deref(), Some("Sent/a/b"));
    assert_eq!(client_of(&set, "INBOX.Sentx", DOT).as_deref(), Some("INBOX/Sentx"));
    assert_eq!(server_of(&set, "Sent", DOT).as_deref(), Ok("INBOX.Sent"));
    assert_eq!(server_of(&set, "Sent/a/b", DOT).as_deref(), Ok("INBOX.Sent.a.b"));
    assert_eq!(server_of(&set, "INBOX/Sent/a", DOT), Err(hidden("INBOX/Sent/a")));
    assert_eq!(server_of(&set, "Sent/", DOT).as_deref(), Ok("Sent."), "no rule, delimiter mapping only");
}

const REGEX_PAIR: &str = r#"
client_delimiter = "/"
[[map]]
to_server = { match = '^Old/(.*)$', replace = 'INBOX.Legacy.$1' }
to_client = { match = '^INBOX\.Legacy\.(.*)$', replace = 'Old/$1' }
"#;

#[test]
fn regex_pair_inverse() {
    let set = rules(REGEX_PAIR);
    assert_eq!(set.to_client("INBOX.Legacy.x", DOT), Some(("Old/x".into(), Some(0))));
    assert_eq!(set.to_server("Old/x", DOT), Ok(("INBOX.Legacy.x".into(), Some(0))));
    assert_eq!(set.to_server("INBOX/Legacy/x", DOT), Err(hidden("INBOX/Legacy/x")), "shown as Old/x");
}

#[test]
fn regex_output_keeps_delimiters() {
    let set = rules(REGEX_PAIR);

    // Regex output is not translated, so the regexes alone decide which
    // delimiter appears: here the server's, inside the client name.
    assert_eq!(client_of(&set, "INBOX.Legacy.a.b", DOT).as_deref(), Some("Old/a.b"));
    assert_eq!(server_of(&set, "Old/a.b", DOT).as_deref(), Ok("INBOX.Legacy.a.b"));
    assert_eq!(server_of(&set, "Old/a/b", DOT).as_deref(), Ok("INBOX.Legacy.a/b"));
}

#[test]
fn regex_pair_not_inverse_hides() {
    let set = rules(
        r#"
        [[map]]
        to_server = { match = '^Box$', replace = 'INBOX/Box' }
        to_client = { match = '^INBOX/Box$', replace = 'Crate' }
        "#,
    );
    assert_eq!(set.to_client("INBOX/Box", SLASH), None);
    assert_eq!(server_of(&set, "Box", SLASH), Err(hidden("Box")));
    assert_eq!(server_of(&set, "Crate", SLASH).as_deref(), Ok("Crate"));
}

#[test]
fn regex_partial_match_does_not_apply() {
    let set = rules(
        r#"
        [[map]]
        to_server = { match = 'Old', replace = 'New' }
        to_client = { match = 'New', replace = 'Old' }
        "#,
    );
    assert_eq!(set.to_server("Old", SLASH), Ok(("New".into(), Some(0))));
    assert_eq!(set.to_server("Older", SLASH), Ok(("Older".into(), None)));
    assert_eq!(set.to_client("New", SLASH), Some(("Old".into(), Some(0))));
    assert_eq!(set.to_client("Newer", SLASH), Some(("Newer".into(), None)));
    assert_eq!(set.to_client("Old", SLASH), None, "Old is shown for New");
}

#[test]
fn regex_named_groups() {
    let set = rules(
        r#"
        [[map]]
        to_server = { match = '^(?P<y>\d{4})-(?P<m>\d\d)$', replace = 'Archive/${y}/${m}' }
        to_client = { match = '^Archive/(?P<y>\d{4})/(?P<m>\d\d)$', replace = '$y-$m' }
        "#,
    );
    assert_eq!(server_of(&set, "2023-01", SLASH).as_deref(), Ok("Archive/2023/01"));
    assert_eq!(client_of(&set, "Archive/2023/01", SLASH).as_deref(), Some("2023-01"));
}

#[test]
fn template_collision_hides_second() {
    let set = rules(
        r#"
        [[map]]
        client = "Sent"
        server = "Sent Items"
        "#,
    );
    assert_eq!(client_of(&set, "Sent Items", SLASH).as_deref(), Some("Sent"));
    assert_eq!(client_of(&set, "Sent", SLASH), None, "would also show as Sent");
    assert_eq!(server_of(&set, "Sent", SLASH).as_deref(), Ok("Sent Items"));
    assert_eq!(server_of(&set, "Sent Items", SLASH), Err(hidden("Sent Items")));
}

#[test]
fn two_rules_onto_one_client_name() {
    let set = rules(
        r#"
        [[map]]
        client = "Junk"
        server = "Spam"
        [[map]]
        client = "Junk"
        server = "Junk E-mail"
        "#,
    );
    assert_eq!(client_of(&set, "Spam", SLASH).as_deref(), Some("Junk"));
    assert_eq!(client_of(&set, "Junk E-mail", SLASH), None);
    assert_eq!(server_of(&set, "Junk", SLASH).as_deref(), Ok("Spam"));
    assert_eq!(set.warnings().len(), 1);
    assert_eq!(set.warnings()[0].place, "mailbox.map[1].client");
}

#[test]
fn flat_server_namespace() {
    let set = rules(
        r#"
        [[map]]
        client = "Archive-{rest}"
        server = "Old {rest}"
        "#,
    );
    assert_eq!(set.client_delimiter(None), None);
    assert_eq!(client_of(&set, "Old a/b.c", None).as_deref(), Some("Archive-a/b.c"));
    assert_eq!(server_of(&set, "Archive-a/b.c", None).as_deref(), Ok("Old a/b.c"));
    assert_eq!(client_of(&set, "a.b/c", None).as_deref(), Some("a.b/c"));
    assert_eq!(server_of(&set, "a.b/c", None).as_deref(), Ok("a.b/c"));
    assert_eq!(server_of(&set, "inbox", None).as_deref(), Ok("INBOX"));
    assert_eq!(server_of(&set, "inbox/x", None).as_deref(), Ok("inbox/x"), "no delimiter, no INBOX prefix");
}

#[test]
fn flat_server_with_client_delimiter() {
    let set = rules(EXAMPLE);
    assert_eq!(client_of(&set, "a.b", None).as_deref(), Some("a.b"));
    assert_eq!(client_of(&set, "a/b", None), None, "the client would see a hierarchy");
    assert_eq!(server_of(&set, "a/b", None), Err(hidden("a/b")));
    assert_eq!(server_of(&set, "a.b", None).as_deref(), Ok("a.b"));
}

#[test]
fn same_delimiter_both_sides() {
    let set = rules(
        r#"
        [[map]]
        client = "Archive/{rest}"
        server = "INBOX/Archive/{rest}"
        "#,
    );
    assert_eq!(client_of(&set, "INBOX/Archive/a/b.c", SLASH).as_deref(), Some("Archive/a/b.c"));
    assert_eq!(server_of(&set, "Archive/a/b.c", SLASH).as_deref(), Ok("INBOX/Archive/a/b.c"));
    assert_eq!(client_of(&set, "x.y/z", SLASH).as_deref(), Some("x.y/z"));
    assert_eq!(server_of(&set, "inbox/Drafts", SLASH).as_deref(), Ok("INBOX/Drafts"));
}

#[test]
fn swapped_delimiters() {
    let set = rules(r#"client_delimiter = ".""#);
    assert_eq!(client_of(&set, "a/b", SLASH).as_deref(), Some("a.b"));
    assert_eq!(client_of(&set, "a.b", SLASH), None);
    assert_eq!(server_of(&set, "a.b", SLASH).as_deref(), Ok("a/b"));
    assert_eq!(
        server_of(&set, "a/b", SLASH),
        Err(Unmappable::ContainsServerDelimiter { name: "a/b".into(), delimiter: '/' })
    );
}

#[test]
fn captures_swap_places() {
    let set = rules(
        r#"
        client_delimiter = "/"
        [[map]]
        client = "By year/{year}/{topic}"
        server = "Topics.{topic}.{year}"
        "#,
    );
    assert_eq!(client_of(&set, "Topics.Tax.2023", DOT).as_deref(), Some("By year/2023/Tax"));
    assert_eq!(server_of(&set, "By year/2023/Tax", DOT).as_deref(), Ok("Topics.Tax.2023"));
    assert_eq!(client_of(&set, "Topics.Tax.2023.Q1", DOT), None, "greedy captures do not map back");
}

#[test]
fn hide_is_unanchored() {
    let set = rules(
        r#"
        [[hide]]
        server = 'Trash'
        "#,
    );
    assert_eq!(client_of(&set, "Old Trash/x", SLASH), None);
    assert_eq!(server_of(&set, "Old Trash/x", SLASH), Err(hidden("Old Trash/x")));
    assert_eq!(client_of(&set, "trash", SLASH).as_deref(), Some("trash"));
}

#[test]
fn hide_applies_to_rule_output() {
    let set = rules(
        r#"
        [[map]]
        client = "Bin"
        server = "Trash"
        [[hide]]
        server = '^Trash$'
        "#,
    );
    assert_eq!(server_of(&set, "Bin", SLASH), Err(hidden("Bin")));
    assert_eq!(client_of(&set, "Trash", SLASH), None);
}

/// Asserts that compiling gives exactly these places, each with a message
/// that contains the given text.
fn assert_errors(toml_text: &str, expected: &[(&str, &str)]) {
    let found = errors(toml_text);
    assert_eq!(found.len(), expected.len(), "errors: {found:#?}");
    for (error, (place, text)) in found.iter().zip(expected) {
        assert_eq!(error.place, *place, "error: {error}");
        assert!(error.message.contains(text), "message {:?} lacks {text:?}", error.message);
    }
}

#[test]
fn invalid_delimiters() {
    assert_errors(r#"client_delimiter = " ""#, &[("mailbox.client_delimiter", "printable ASCII")]);
    assert_errors(r#"client_delimiter = "é""#, &[("mailbox.client_delimiter", "printable ASCII")]);
    assert_errors(r#"client_delimiter = "\n""#, &[("mailbox.client_delimiter", "printable ASCII")]);
    assert_errors(r#"server_delimiter = "%""#, &[("mailbox.server_delimiter", "wildcard")]);
    assert_errors(r#"client_delimiter = "*""#, &[("mailbox.client_delimiter", "wildcard")]);
}

#[test]
fn invalid_entry_forms() {
    assert_errors(
        r#"
        [[map]]
        client = "a"
        server = "b"
        [[map]]
        client = "a"
        to_server = { match = 'a', replace = 'b' }
        [[map]]
        client = "a"
        [[map]]
        server = "b"
        [[map]]
        to_server = { match = 'a', replace = 'b' }
        [[map]]
        to_client = { match = 'a', replace = 'b' }
        [[map]]
        "#,
        &[
            ("mailbox.map[1]", "mixes the template form"),
            ("mailbox.map[2]", "no server template"),
            ("mailbox.map[3]", "no client template"),
            ("mailbox.map[4]", "no to_client"),
            ("mailbox.map[5]", "no to_server"),
            ("mailbox.map[6]", "is empty"),
        ],
    );
}

#[test]
fn invalid_templates() {
    assert_errors(
        r#"
        [[map]]
        client = ""
        server = "a{b"
        [[map]]
        client = "a}"
        server = "{x}{x}"
        [[map]]
        client = "{a b}"
        server = "x"
        "#,
        &[
            ("mailbox.map[0].client", "empty"),
            ("mailbox.map[0].server", "not closed"),
            ("mailbox.map[1].client", "no opening"),
            ("mailbox.map[1].server", "more than once"),
            ("mailbox.map[2].client", "not a valid capture"),
        ],
    );
}

#[test]
fn mismatched_captures() {
    assert_errors(
        r#"
        [[map]]
        client = "A/{rest}"
        server = "B.{other}"
        [[map]]
        client = "A/{a}/{b}"
        server = "B.{a}"
        [[map]]
        client = "Sent{/rest}"
        server = "INBOX.Sent.{rest}"
        "#,
        &[
            ("mailbox.map[0].server", "{other} does not appear"),
            ("mailbox.map[0].client", "{rest} does not appear"),
            ("mailbox.map[1].client", "{b} does not appear"),
            ("mailbox.map[2].server", "{rest} is written {/rest}"),
            ("mailbox.map[2].client", "{/rest} is written {rest}"),
        ],
    );
}

#[test]
fn optional_delimiter_must_match_config() {
    assert_errors(
        r#"
        client_delimiter = "/"
        server_delimiter = "."
        [[map]]
        client = "Sent{.rest}"
        server = "INBOX.Sent{/rest}"
        "#,
        &[("mailbox.map[0].client", "write {/rest}"), ("mailbox.map[0].server", "write {.rest}")],
    );

    // Without configured delimiters, any delimiter character is accepted.
    let set = rules(
        r#"
        [[map]]
        client = "Sent{.rest}"
        server = "INBOX.Sent{.rest}"
        "#,
    );
    assert_eq!(server_of(&set, "Sent.a", DOT).as_deref(), Ok("INBOX.Sent.a"));
}

#[test]
fn invalid_regexes() {
    assert_errors(
        r#"
        [[map]]
        to_server = { match = '(', replace = 'x' }
        to_client = { match = 'x', replace = '$1a' }
        [[map]]
        to_server = { match = '(a)', replace = '$2 ${name} $$1 ${1}x $ ${x' }
        to_client = { match = '(?P<n>a)', replace = '$n$0$1${n}' }
        [[hide]]
        server = '[a'
        "#,
        &[
            ("mailbox.map[0].to_server.match", "invalid regex \"(\""),
            ("mailbox.map[0].to_client.replace", "group \"1a\""),
            ("mailbox.map[1].to_server.replace", "group \"2\""),
            ("mailbox.map[1].to_server.replace", "group \"name\""),
            ("mailbox.hide[0].server", "unclosed character class"),
        ],
    );
}

#[test]
fn errors_read_with_place() {
    let found = errors("[[map]]\nclient = \"a\"\n");
    assert_eq!(found[0].to_string(), "mailbox.map[0]: has client but no server template; add server = \"…\"");
}

#[test]
fn overlap_warnings_list_shadowed_rules() {
    let set = rules(
        r#"
        client_delimiter = "/"
        [[map]]
        client = "Archive/{rest}"
        server = "INBOX.Archive.{rest}"
        [[map]]
        client = "Archive/2023"
        server = "Old.2023"
        [[map]]
        client = "Other"
        server = "INBOX.Archive.x"
        [[map]]
        to_server = { match = '^Misc$', replace = 'Misc' }
        to_client = { match = '^Misc$', replace = 'Misc' }
        [[map]]
        client = "Misc{/rest}"
        server = "Stuff{.rest}"
        "#,
    );
    let places: Vec<&str> = set.warnings().iter().map(|w| w.place.as_str()).collect();
    assert_eq!(places, ["mailbox.map[1].client", "mailbox.map[2].server", "mailbox.map[4].client"]);
    assert!(set.warnings()[0].message.contains("mailbox.map[0] also matches client names such as \"Archive/2023\""));
}

#[test]
fn lowercase_inbox_template_never_matches() {
    let set = rules(
        r#"
        [[map]]
        client = "Mail/{rest}"
        server = "inbox/{rest}"
        "#,
    );

    // The rule writes inbox/x, which is normalized to INBOX/x, and the
    // server template does not match INBOX/x on the way back.
    assert_eq!(server_of(&set, "Mail/x", SLASH), Err(hidden("Mail/x")));
    assert_eq!(client_of(&set, "INBOX/x", SLASH).as_deref(), Some("INBOX/x"));
    assert_eq!(set.warnings().len(), 1);
    assert_eq!(set.warnings()[0].place, "mailbox.map[0].server");
    assert!(set.warnings()[0].message.contains("write INBOX"));
}

#[test]
fn inbox_case_warning_cases() {
    let set = rules(
        r#"
        [[map]]
        client = "Inbox"
        server = "INBOX"
        [[map]]
        client = "Inboxes/{rest}"
        server = "INBOX.x.{rest}"
        [[map]]
        client = "Mail/{rest}"
        server = "inBox.{rest}"
        "#,
    );
    let places: Vec<&str> = set.warnings().iter().map(|w| w.place.as_str()).collect();
    assert_eq!(places, ["mailbox.map[0].client", "mailbox.map[2].server"]);
}

/// Rule sets for the round-trip property, with their server delimiter,
/// compiled once because regex compilation dominates the test's time.
static PROPERTY_SETS: std::sync::LazyLock<Vec<(RuleSet, Option<char>)>> = std::sync::LazyLock::new(property_sets);

fn property_sets() -> Vec<(RuleSet, Option<char>)> {
    let templates = r#"
        [[map]]
        client = "Sent{/rest}"
        server = "INBOX.Sent Items{.rest}"
        [[map]]
        client = "Archive/{rest}"
        server = "INBOX.Archive.{rest}"
        [[map]]
        client = "{a}/{b}/x"
        server = "x.{b}.{a}"
        [[map]]
        client = "a"
        server = "b"
        [[hide]]
        server = '^INBOX\.Spam$'
    "#;
    vec![
        (rules(&format!("client_delimiter = \"/\"\n{templates}")), DOT),
        (rules(&format!("client_delimiter = \"/\"\n{templates}")), None),
        (rules(templates), DOT),
        (rules(templates), SLASH),
    ]
}

fn name_strategy() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("INBOX".to_owned()),
        Just("INBOX.Archive.".to_owned()),
        Just("INBOX.Sent Items.".to_owned()),
        Just("Archive/".to_owned()),
        Just("Sent/".to_owned()),
        Just("x.".to_owned()),
        Just("a/".to_owned()),
        Just("inbox".to_owned()),
        Just("Sent Items".to_owned()),
        Just("Sent".to_owned()),
        Just("Archive".to_owned()),
        Just("Spam".to_owned()),
        Just("x".to_owned()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just(".".to_owned()),
        Just("/".to_owned()),
        Just("ü".to_owned()),
    ];
    proptest::collection::vec(pieces, 0..7).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn shown_names_map_back(server in name_strategy()) {
        for (set, delimiter) in PROPERTY_SETS.iter() {
            let delimiter = *delimiter;
            if let Some((client, index)) = set.to_client(&server, delimiter) {
                let expected = normalize_inbox(&server, delimiter).into_owned();
                prop_assert_eq!(set.to_server(&client, delimiter), Ok((expected, index)));
            }
        }
    }

    #[test]
    fn reachable_names_are_shown(client in name_strategy()) {
        for (set, delimiter) in PROPERTY_SETS.iter() {
            let delimiter = *delimiter;
            if let Ok((server, index)) = set.to_server(&client, delimiter) {
                let expected = normalize_inbox(&client, set.client_delimiter(delimiter)).into_owned();
                prop_assert_eq!(set.to_client(&server, delimiter), Some((expected, index)));
            }
        }
    }
}

#[test]
fn special_use_is_validated_and_normalized() {
    let set = rules(
        "[[map]]\nclient = \"Sent\"\nserver = \"Sent Items\"\nspecial_use = '\\sent'\n[[map]]\nclient = \"a\"\nserver = \"b\"\n",
    );
    assert_eq!(set.special_use(Some(0)), Some("\\Sent"));
    assert_eq!(set.special_use(Some(1)), None);
    assert_eq!(set.special_use(None), None);
    assert!(set.has_special_use());

    let problems = errors("[[map]]\nclient = \"Sent\"\nserver = \"Sent Items\"\nspecial_use = 'Sent'\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].place, "mailbox.map[0].special_use");
    assert!(problems[0].message.contains("\\Sent, \\Trash"), "{}", problems[0].message);
}

#[test]
fn server_pattern_inside_one_rule() {
    let set = rules(
        r#"
client_delimiter = "/"
[[map]]
client = "Sent"
server = "INBOX.Sent Items"
[[map]]
client = "Archive{/rest}"
server = "INBOX.Archive{.rest}"
[[map]]
client = "Lists/{list}"
server = "INBOX.ML.{list}"
"#,
    );
    let dot = Some('.');
    let cases: &[(&str, Option<&str>)] = &[
        ("Archive/%", Some("INBOX.Archive.%")),
        ("Archive/*", Some("INBOX.Archive.*")),
        ("Archive/2024/%", Some("INBOX.Archive.2024.%")),
        ("Lists/%", Some("INBOX.ML.%")),
        ("Lists/rust*", Some("INBOX.ML.rust*")),
        // Names that other rules or the delimiter mapping produce.
        ("Archive*", None),
        ("Arch%", None),
        ("Lists*", None),
        ("*", None),
        ("%/x", None),
        ("Se*", None),
        ("inbox/%", None),
        ("IN*", None),
        // The server's delimiter as an ordinary character.
        ("Archive/a.b*", None),
        ("Other/%", None),
    ];
    for (pattern, expected) in cases {
        assert_eq!(set.server_pattern(pattern, dot).as_deref(), *expected, "{pattern}");
    }
}

#[test]
fn server_pattern_with_multibyte_head() {
    let set = rules(EXAMPLE);
    // The fifth byte lies inside a character; this must not panic.
    assert_eq!(set.server_pattern("abcdé%", Some('.')), None);
    assert_eq!(set.server_pattern("Inbox/ü%", Some('.')), None);
    assert_eq!(set.server_pattern("日本%", Some('.')), None);
}

#[test]
fn server_pattern_stops_at_regex_rules() {
    let set = rules(
        r#"
client_delimiter = "/"
[[map]]
to_server = { match = '^Old/(.*)$', replace = 'INBOX.Legacy.$1' }
to_client = { match = '^INBOX\.Legacy\.(.*)$', replace = 'Old/$1' }
[[map]]
client = "Archive{/rest}"
server = "INBOX.Archive{.rest}"
"#,
    );
    assert_eq!(set.server_pattern("Archive/%", Some('.')), None);
}

#[test]
fn maps_outside_prefix() {
    let set = rules(EXAMPLE);
    assert!(set.maps_outside("INBOX/", Some('/')));
    let nested = rules("client_delimiter = \"/\"\n[[map]]\nclient = \"INBOX/Sent\"\nserver = \"INBOX.Sent Items\"\n");
    assert!(!nested.maps_outside("INBOX/", Some('/')));
    assert!(nested.maps_outside("Other/", Some('/')));
}
