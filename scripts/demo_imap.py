#!/usr/bin/env python3
"""IMAP steps of scripts/demo.sh.

  demo_imap.py seed PORT USER PASSWORD
      Create the demo folders and messages on the server at 127.0.0.1:PORT.
  demo_imap.py show SERVER_PORT PROXY_PORT USER PASSWORD
      Print LIST as the server shows it next to LIST through imapgate, then
      STATUS "Sent" through imapgate.
"""

import imaplib
import sys
import time

HOST = "127.0.0.1"

# Server folder name and number of messages to put in it.
SEED = [
    ("INBOX.Sent Items", 2),
    ("INBOX.Archive.2023", 1),
    ("INBOX.Spam", 1),
    ("INBOX.Drafts", 0),
]


def message(folder, number):
    date = "Mon, 04 Dec 2023 10:0%d:00 +0000" % number
    return (
        "From: Alice <alice@example.org>\r\n"
        "To: Bob <bob@example.org>\r\n"
        "Date: %s\r\n"
        "Subject: Demo message %d in %s\r\n"
        "Message-ID: <demo-%d-%s@example.org>\r\n"
        "\r\n"
        "This message was created by scripts/demo.sh.\r\n"
        % (date, number, folder, number, folder.replace(" ", "-"))
    ).encode()


def check(result, action):
    status, data = result
    if status != "OK":
        raise SystemExit("demo_imap.py: %s failed: %s %r" % (action, status, data))
    return data


def imap_quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def seed(port, user, password):
    imap = imaplib.IMAP4(HOST, port)
    check(imap.login(user, password), "LOGIN as %s" % user)
    for folder, count in SEED:
        check(imap.create(imap_quote(folder)), "CREATE %s" % folder)
        for number in range(1, count + 1):
            check(
                imap.append(imap_quote(folder), None, time.time(), message(folder, number)),
                "APPEND to %s" % folder,
            )
    imap.logout()


def list_lines(port, user, password):
    """Return the LIST "" "*" response lines, or an error line."""
    try:
        imap = imaplib.IMAP4(HOST, port)
        check(imap.login(user, password), "LOGIN")
        data = check(imap.list('""', "*"), "LIST")
        imap.logout()
    except (OSError, imaplib.IMAP4.error, SystemExit) as err:
        return ["(failed: %s)" % err]
    return [line.decode(errors="replace") for line in data if line is not None]


def show(server_port, proxy_port, user, password):
    server = list_lines(server_port, user, password)
    proxy = list_lines(proxy_port, user, password)
    width = max(len(line) for line in server + ["LIST directly from Dovecot"]) + 4

    print("%-*s%s" % (width, "LIST directly from Dovecot (%d)" % server_port,
                      "LIST through imapgate (%d)" % proxy_port))
    for i in range(max(len(server), len(proxy))):
        left = server[i] if i < len(server) else ""
        right = proxy[i] if i < len(proxy) else ""
        print("%-*s%s" % (width, left, right))

    print()
    print('STATUS "Sent" (MESSAGES UNSEEN) through imapgate:')
    try:
        imap = imaplib.IMAP4(HOST, proxy_port)
        check(imap.login(user, password), "LOGIN")
        status, data = imap.status('"Sent"', "(MESSAGES UNSEEN)")
        imap.logout()
        print("  %s %s" % (status, b" ".join(d for d in data if d).decode(errors="replace")))
    except (OSError, imaplib.IMAP4.error) as err:
        print("  (failed: %s)" % err)


def main(argv):
    if len(argv) == 5 and argv[1] == "seed":
        seed(int(argv[2]), argv[3], argv[4])
    elif len(argv) == 6 and argv[1] == "show":
        show(int(argv[2]), int(argv[3]), argv[4], argv[5])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
