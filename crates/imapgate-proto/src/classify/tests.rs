use super::*;

fn cmd(line: &[u8]) -> CommandHead<'_> {
    classify_command(line).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(line)))
}

#[test]
fn command_heads() {
    let h = cmd(b"a1 LOGIN alice secret\r\n");
    assert_eq!(h, CommandHead { tag: b"a1", name: CommandName::Login, uid: false, keyword: b"LOGIN", args_at: 8 });
    let h = cmd(b"A0001 select INBOX\r\n");
    assert_eq!((h.tag, h.name, h.keyword, h.args_at), (&b"A0001"[..], CommandName::Select, &b"select"[..], 12));
    // Line ends: CRLF, LF, none at all (a prefix chunk).
    for (line, at) in [(&b"x NOOP\r\n"[..], 6), (b"x NOOP\n", 6), (b"x NOOP", 6), (b"x NoOp ", 6)] {
        let h = cmd(line);
        assert_eq!((h.name, h.args_at), (CommandName::Noop, at));
        assert!(matches!(line.get(h.args_at), None | Some(b' ' | b'\r' | b'\n')));
    }
    assert_eq!(cmd(b"t APPEND INBOX {5}").name, CommandName::Append);
    assert_eq!(cmd(b"t XYZZY foo\r\n").name, CommandName::Other);
    assert_eq!(cmd(b"t X-CUSTOM=1\r\n").keyword, b"X-CUSTOM=1");
    assert_eq!(cmd(b"t AUTHENTICATEX\r\n").name, CommandName::Other);
    assert_eq!(cmd(b"t AUTHENTICATE PLAIN\r\n").name, CommandName::Authenticate);
    assert_eq!(cmd(b"t THISKEYWORDISLONGERTHANSIXTEEN\r\n").name, CommandName::Other);
}

#[test]
fn every_command_name() {
    use CommandName::*;
    for (kw, name) in [
        ("CAPABILITY", Capability),
        ("NOOP", Noop),
        ("LOGOUT", Logout),
        ("ID", Id),
        ("STARTTLS", StartTls),
        ("AUTHENTICATE", Authenticate),
        ("LOGIN", Login),
        ("ENABLE", Enable),
        ("SELECT", Select),
        ("EXAMINE", Examine),
        ("CREATE", Create),
        ("DELETE", Delete),
        ("RENAME", Rename),
        ("SUBSCRIBE", Subscribe),
        ("UNSUBSCRIBE", Unsubscribe),
        ("LIST", List),
        ("LSUB", Lsub),
        ("XLIST", Xlist),
        ("NAMESPACE", Namespace),
        ("STATUS", Status),
        ("APPEND", Append),
        ("IDLE", Idle),
        ("CHECK", Check),
        ("CLOSE", Close),
        ("UNSELECT", Unselect),
        ("EXPUNGE", Expunge),
        ("SEARCH", Search),
        ("FETCH", Fetch),
        ("STORE", Store),
        ("COPY", Copy),
        ("MOVE", Move),
        ("COMPRESS", Compress),
        ("GETQUOTA", GetQuota),
        ("setquota", SetQuota),
        ("GETQUOTAROOT", GetQuotaRoot),
        ("GETACL", GetAcl),
        ("SETACL", SetAcl),
        ("DELETEACL", DeleteAcl),
        ("LISTRIGHTS", ListRights),
        ("MYRIGHTS", MyRights),
        ("GETMETADATA", GetMetadata),
        ("SETMETADATA", SetMetadata),
        ("NOTIFY", Notify),
        ("ESEARCH", Esearch),
    ] {
        for kw in [kw.to_string(), kw.to_ascii_lowercase(), mixed_case(kw)] {
            let line = format!("tag {kw} x\r\n");
            let h = cmd(line.as_bytes());
            assert_eq!((h.name, h.uid, h.keyword), (name, false, kw.as_bytes()), "{line}");
            assert_eq!(h.args_at, 4 + kw.len());
        }
    }
}

fn mixed_case(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() })
        .collect()
}

#[test]
fn uid_commands() {
    let h = cmd(b"a2 UID copy 1:* Archive\r\n");
    assert_eq!(h, CommandHead { tag: b"a2", name: CommandName::Copy, uid: true, keyword: b"copy", args_at: 11 });
    for (kw, name) in [
        ("MOVE", CommandName::Move),
        ("fetch", CommandName::Fetch),
        ("Store", CommandName::Store),
        ("SEARCH", CommandName::Search),
        ("EXPUNGE", CommandName::Expunge),
        ("THREAD", CommandName::Other),
        ("SORT", CommandName::Other),
        // UID only prefixes message commands.
        ("LOGIN", CommandName::Other),
        ("UID", CommandName::Other),
    ] {
        let line = format!("t uid {kw}\r\n");
        let h = cmd(line.as_bytes());
        assert_eq!((h.name, h.uid, h.keyword, h.args_at), (name, true, kw.as_bytes(), 6 + kw.len()));
    }
    assert_eq!(classify_command(b"t UID\r\n"), Err(ClassifyError::MissingCommand));
    assert_eq!(classify_command(b"t UID \r\n"), Err(ClassifyError::MissingCommand));
    assert_eq!(classify_command(b"t UID  FETCH\r\n"), Err(ClassifyError::MissingCommand));
    assert_eq!(classify_command(b"t UID"), Err(ClassifyError::MissingCommand));
    // UIDX is just another command.
    let h = cmd(b"t UIDX FETCH\r\n");
    assert_eq!((h.name, h.uid), (CommandName::Other, false));
}

#[test]
fn tags() {
    assert_eq!(cmd(b"a]1 NOOP\r\n").tag, b"a]1");
    assert_eq!(cmd(b"] NOOP\r\n").tag, b"]");
    assert_eq!(cmd(b"A.1-_:[!#$&'<>?@^`|~ NOOP\r\n").tag, b"A.1-_:[!#$&'<>?@^`|~");
    assert_eq!(cmd(b"0 NOOP\r\n").tag, b"0");
    for bad in [
        &b"a+1 NOOP\r\n"[..],
        b"+ NOOP\r\n",
        b"* NOOP\r\n",
        b"a(1 NOOP\r\n",
        b"a)1 NOOP\r\n",
        b"a{1 NOOP\r\n",
        b"a%1 NOOP\r\n",
        b"a\"1 NOOP\r\n",
        b"a\\1 NOOP\r\n",
        b"a\x01 NOOP\r\n",
        b"a\x7f NOOP\r\n",
        b"a\t1 NOOP\r\n",
        b"\xc3\xa9 NOOP\r\n",
        b"a\x00 NOOP\r\n",
    ] {
        assert_eq!(classify_command(bad), Err(ClassifyError::InvalidTag), "{bad:?}");
    }
    for missing in [&b""[..], b"\r\n", b"\n", b" NOOP\r\n", b"\rNOOP"] {
        assert_eq!(classify_command(missing), Err(ClassifyError::MissingTag), "{missing:?}");
    }
    for missing in [&b"a1"[..], b"a1\r\n", b"a1 \r\n", b"a1 ", b"a1  NOOP\r\n", b"a1\rNOOP\r\n"] {
        assert_eq!(classify_command(missing), Err(ClassifyError::MissingCommand), "{missing:?}");
    }
}

fn untagged(line: &[u8]) -> (Option<u32>, ResponseName, usize) {
    match classify_response(line) {
        Some(ResponseHead::Untagged { number, name, args_at }) => (number, name, args_at),
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
    }
}

#[test]
fn continuation_responses() {
    for line in [&b"+"[..], b"+\r\n", b"+\n", b"+ Ready\r\n", b"+ dGVzdA==\r\n", b"+OK"] {
        assert_eq!(classify_response(line), Some(ResponseHead::Continuation), "{line:?}");
    }
}

#[test]
fn untagged_responses() {
    use ResponseName::*;
    assert_eq!(untagged(b"* 12 FETCH (FLAGS (\\Seen))\r\n"), (Some(12), Fetch, 10));
    assert_eq!(untagged(b"* 3 EXISTS\r\n"), (Some(3), Exists, 10));
    assert_eq!(untagged(b"* 0 RECENT"), (Some(0), Recent, 10));
    assert_eq!(untagged(b"* 4294967295 EXPUNGE\n"), (Some(u32::MAX), Expunge, 20));
    assert_eq!(untagged(b"* OK [CAPABILITY IMAP4rev1] ready\r\n"), (None, Condition(super::Status::Ok), 4));
    assert_eq!(untagged(b"* ok\r\n"), (None, Condition(super::Status::Ok), 4));
    assert_eq!(untagged(b"* No x\r\n"), (None, Condition(super::Status::No), 4));
    assert_eq!(untagged(b"* BAD x\r\n"), (None, Condition(super::Status::Bad), 5));
    assert_eq!(untagged(b"* bye x\r\n"), (None, Condition(super::Status::Bye), 5));
    assert_eq!(untagged(b"* PREAUTH x\r\n"), (None, Condition(super::Status::PreAuth), 9));
    assert_eq!(untagged(b"* list () \"/\" INBOX\r\n"), (None, List, 6));
    assert_eq!(untagged(b"* XYZZY 1\r\n"), (None, Other, 7));
    assert_eq!(untagged(b"* OKAY\r\n"), (None, Other, 6));
    for (kw, name) in [
        ("CAPABILITY", Capability),
        ("LIST", List),
        ("LSUB", Lsub),
        ("XLIST", Xlist),
        ("STATUS", Status),
        ("NAMESPACE", Namespace),
        ("FLAGS", Flags),
        ("SEARCH", Search),
        ("ESEARCH", Esearch),
        ("EXISTS", Exists),
        ("RECENT", Recent),
        ("EXPUNGE", Expunge),
        ("FETCH", Fetch),
        ("ENABLED", Enabled),
        ("ID", Id),
        ("QUOTA", Quota),
        ("QUOTAROOT", QuotaRoot),
        ("ACL", Acl),
        ("LISTRIGHTS", ListRights),
        ("MYRIGHTS", MyRights),
        ("METADATA", Metadata),
        ("VANISHED", Vanished),
    ] {
        for kw in [kw.to_string(), kw.to_ascii_lowercase(), mixed_case(kw)] {
            assert_eq!(untagged(format!("* {kw} x\r\n").as_bytes()), (None, name, 2 + kw.len()));
            assert_eq!(untagged(format!("* {kw}").as_bytes()), (None, name, 2 + kw.len()));
        }
    }
    for not in [
        &b"*"[..],
        b"*\r\n",
        b"* \r\n",
        b"*  OK\r\n",
        b"*OK\r\n",
        b"* 12\r\n",
        b"* 12 \r\n",
        b"* 12x FETCH\r\n",
        b"* 4294967296 EXISTS\r\n",
        b"* 1  FETCH\r\n",
    ] {
        assert_eq!(classify_response(not), None, "{:?}", String::from_utf8_lossy(not));
    }
}

#[test]
fn tagged_responses() {
    assert_eq!(
        classify_response(b"a1 OK LOGIN completed\r\n"),
        Some(ResponseHead::Tagged { tag: b"a1", status: Status::Ok, text_at: 5 })
    );
    assert_eq!(
        classify_response(b"a]2 no [TRYCREATE] x\n"),
        Some(ResponseHead::Tagged { tag: b"a]2", status: Status::No, text_at: 6 })
    );
    assert_eq!(
        classify_response(b"A3 Bad"),
        Some(ResponseHead::Tagged { tag: b"A3", status: Status::Bad, text_at: 6 })
    );
    for not in [
        &b""[..],
        b"\r\n",
        b"a1 BYE x\r\n",
        b"a1 PREAUTH x\r\n",
        b"a1 OKAY\r\n",
        b"a1 FETCH\r\n",
        b"a1\r\n",
        b"a1  OK\r\n",
        b" OK\r\n",
        b"a(1 OK\r\n",
        b"a{1 OK\r\n",
    ] {
        assert_eq!(classify_response(not), None, "{:?}", String::from_utf8_lossy(not));
    }
}
