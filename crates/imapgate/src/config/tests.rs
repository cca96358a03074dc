use super::*;

const MINIMAL: &str = r#"
[[listen]]
address = "127.0.0.1:1143"

[upstream]
address = "imap.example.org:143"
"#;

fn problems(text: &str) -> Vec<ConfigProblem> {
    match parse(text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(problems) => problems,
    }
}

/// Finds the problem reported at `place`, or panics and lists every problem.
fn problem_at<'a>(problems: &'a [ConfigProblem], place: &str) -> &'a ConfigProblem {
    problems
        .iter()
        .find(|problem| problem.place == place)
        .unwrap_or_else(|| panic!("no problem at {place}; problems: {problems:#?}"))
}

#[test]
fn minimal_config_parses_with_defaults() {
    let loaded = parse(MINIMAL).expect("minimal config is valid");
    assert!(loaded.warnings.is_empty());
    assert!(loaded.chain.names().is_empty());
    assert_eq!(loaded.config.listen.len(), 1);
    assert_eq!(loaded.config.listen[0].address, "127.0.0.1:1143");
    assert_eq!(loaded.config.upstream.as_ref().unwrap().address, "imap.example.org:143");
    assert_eq!(loaded.config.limits.max_line, 64 * 1024);
    assert_eq!(loaded.config.limits.max_collected, 1024 * 1024);
    assert_eq!(loaded.config.timeouts.preauth(), Duration::from_secs(60));
    assert!(loaded.config.mailbox.is_none());
}

#[test]
fn mailbox_config_builds_chain() {
    let text = format!(
        "filters = [\"mailbox\"]\n{MINIMAL}\n[mailbox]\nclient_delimiter = \"/\"\n\
         [[mailbox.map]]\nclient = \"Sent\"\nserver = \"INBOX.Sent Items\"\n\
         [[mailbox.hide]]\nserver = '^INBOX\\.Junk$'\n"
    );
    let loaded = parse(&text).expect("mailbox config is valid");
    assert_eq!(loaded.chain.names(), vec!["mailbox"]);
    assert_eq!(loaded.chain.server_delimiter(), crate::filter::DelimiterSource::Learn);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn configured_server_delimiter_is_used() {
    let text = format!("filters = [\"mailbox\"]\n{MINIMAL}\n[mailbox]\nserver_delimiter = \".\"\n");
    let loaded = parse(&text).unwrap();
    assert_eq!(loaded.chain.server_delimiter(), crate::filter::DelimiterSource::Configured('.'));
}

#[test]
fn unknown_key_reports_line_and_column() {
    let text = "[[listen]]\naddress = \"127.0.0.1:1143\"\nport = 1143\n[upstream]\naddress = \"a:1\"\n";
    let problems = problems(text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].place, "line 3, column 1");
    assert!(problems[0].message.contains("unknown field `port`"), "{}", problems[0].message);
}

#[test]
fn unknown_key_in_mailbox_rule_is_reported() {
    let text = format!("filters = [\"mailbox\"]\n{MINIMAL}\n[[mailbox.map]]\nclient = \"a\"\nsever = \"b\"\n");
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].place.starts_with("line 11,"), "{}", problems[0].place);
    assert!(problems[0].message.contains("unknown field `sever`"), "{}", problems[0].message);
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let text = r#"
filters = ["mailbox", "nosuch", "mailbox"]

[[listen]]
address = "127.0.0.1:1143"

[[listen]]
address = "localhost:1143"

[upstream]
address = "imap.example.org"

[limits]
max_line = 100

[mailbox]
client_delimiter = "/"

[[mailbox.map]]
client = "Archive/{rest"
server = "INBOX.Archive.{rest}"

[[mailbox.map]]
to_server = { match = '^Old/(.*$', replace = 'INBOX.Legacy.$1' }
to_client = { match = '^INBOX\.Legacy\.(.*)$', replace = 'Old/$2' }

[[mailbox.hide]]
server = '^INBOX\.(Junk'
"#;
    let problems = problems(text);

    let listen = problem_at(&problems, "listen[1].address");
    assert!(listen.message.contains("\"localhost:1143\" is not an IP:port address"), "{}", listen.message);
    assert!(
        problem_at(&problems, "upstream.address").message.contains("\"imap.example.org\" is not a host:port address")
    );
    assert!(problem_at(&problems, "limits.max_line").message.contains("100 is below the minimum of 1024 bytes"));

    let unknown = problem_at(&problems, "filters[1]");
    assert!(unknown.message.contains("unknown filter \"nosuch\""), "{}", unknown.message);
    assert!(unknown.message.contains("known filters: mailbox"), "{}", unknown.message);
    let twice = problem_at(&problems, "filters[2]");
    assert!(twice.message.contains("filter \"mailbox\" is listed twice"), "{}", twice.message);

    let template = problems
        .iter()
        .find(|problem| problem.place.starts_with("mailbox.map[0]"))
        .unwrap_or_else(|| panic!("no template problem: {problems:#?}"));
    assert!(template.message.contains("is not closed"), "{}", template.message);

    let regex = problem_at(&problems, "mailbox.map[1].to_server.match");
    assert!(regex.message.contains("invalid regex"), "{}", regex.message);
    let replace = problem_at(&problems, "mailbox.map[1].to_client.replace");
    assert!(replace.message.contains("refers to group \"2\""), "{}", replace.message);

    let hide = problem_at(&problems, "mailbox.hide[0].server");
    assert!(hide.message.contains("invalid regex"), "{}", hide.message);

    assert_eq!(problems.len(), 9, "{problems:#?}");
}

#[test]
fn missing_sections_are_reported() {
    let problems = problems("");
    assert!(problem_at(&problems, "listen").message.contains("no [[listen]] entry"));
    assert!(problem_at(&problems, "upstream").message.contains("missing [upstream] section"));
}

#[test]
fn limits_and_timeouts_are_checked() {
    let text = format!(
        "{MINIMAL}\n[limits]\nmax_line = 4096\nmax_collected = 2048\n[timeouts]\npreauth_secs = 0\nidle_secs = 10\n"
    );
    let problems = problems(&text);
    assert!(problem_at(&problems, "limits.max_collected").message.contains("2048 is below limits.max_line (4096)"));
    assert!(problem_at(&problems, "timeouts.preauth_secs").message.contains("at least 1 second"));
    assert!(problem_at(&problems, "timeouts.idle_secs").message.contains("at least 30 minutes"));
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

#[test]
fn mailbox_section_without_filter_warns() {
    let text = format!("{MINIMAL}\n[mailbox]\nclient_delimiter = \"/\"\n");
    let loaded = parse(&text).expect("config is valid");
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].place, "mailbox");
    assert!(loaded.chain.names().is_empty());
}

#[test]
fn upstream_port_must_be_valid() {
    for address in ["host:0", "host:65536", ":143", "host:imap"] {
        let text = format!("[[listen]]\naddress = \"127.0.0.1:1143\"\n[upstream]\naddress = \"{address}\"\n");
        let problems = problems(&text);
        assert_eq!(problems.len(), 1, "{address}: {problems:?}");
        assert_eq!(problems[0].place, "upstream.address", "{address}");
    }
    for address in ["[::1]:143", "10.0.0.1:993", "mail.example.org:143"] {
        let text = format!("[[listen]]\naddress = \"[::]:143\"\n[upstream]\naddress = \"{address}\"\n");
        assert!(parse(&text).is_ok(), "{address} is valid");
    }
}

#[test]
fn load_reports_path_of_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    let error = match load(&path) {
        Ok(_) => panic!("a missing file loaded"),
        Err(error) => error,
    };
    assert_eq!(error.path, path.display().to_string());
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].place, "file");

    let path = dir.path().join("imapgate.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert!(load(&path).is_ok());
}
