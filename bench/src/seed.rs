//! Writes the benchmark accounts as Maildir++ files, which is much faster
//! than APPENDing them over IMAP. Dovecot indexes them on first access.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use crate::naming::maildir_folder;

/// Account sizes; `quick` shrinks everything so a smoke run is short.
pub struct Sizes {
    pub bulk_messages: usize,
    pub bulk_message_bytes: usize,
    pub small_folders: usize,
    pub big_folders: usize,
    pub sync_folders: usize,
    pub sync_messages: usize,
}

impl Sizes {
    pub fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                bulk_messages: 20,
                bulk_message_bytes: 16 * 1024,
                small_folders: 50,
                big_folders: 200,
                sync_folders: 25,
                sync_messages: 4,
            }
        } else {
            Sizes {
                bulk_messages: 200,
                bulk_message_bytes: 256 * 1024,
                small_folders: 50,
                big_folders: 10_000,
                sync_folders: 25,
                sync_messages: 40,
            }
        }
    }
}

/// Writes the accounts `bulk`, `small`, `big`, `sync` and `idle` under
/// `home/<user>/Maildir`, replacing earlier contents.
pub fn seed(home: &Path, sizes: &Sizes) -> io::Result<()> {
    let maildir = |user: &str| -> io::Result<std::path::PathBuf> {
        let path = home.join(user).join("Maildir");
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        make_folder(&path)?;
        Ok(path)
    };

    let bulk = maildir("bulk")?;
    for number in 0..sizes.bulk_messages {
        write_message(&bulk, number, sizes.bulk_message_bytes)?;
    }

    let small = maildir("small")?;
    for number in 0..5 {
        write_message(&small, number, 2048)?;
    }
    for index in 0..sizes.small_folders {
        let folder = small.join(maildir_folder(index));
        make_folder(&folder)?;
        for number in 0..5 {
            write_message(&folder, number, 2048)?;
        }
    }

    let big = maildir("big")?;
    for index in 0..sizes.big_folders {
        make_folder(&big.join(maildir_folder(index)))?;
    }

    // Mixed sizes, mostly small, as in a real mailbox: 2 KiB to 62 KiB.
    let sync = maildir("sync")?;
    let mut count = 0;
    for index in 0..=sizes.sync_folders {
        let folder = if index == 0 { sync.clone() } else { sync.join(maildir_folder(index - 1)) };
        make_folder(&folder)?;
        for number in 0..sizes.sync_messages {
            count += 1;
            write_message(&folder, number, 2048 + (count * 7919 % 16) * 4096)?;
        }
    }

    maildir("idle")?;
    Ok(())
}

fn make_folder(path: &Path) -> io::Result<()> {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(path.join(sub))?;
    }
    Ok(())
}

/// Writes a seen message of about `size` bytes with CRLF line ends.
fn write_message(folder: &Path, number: usize, size: usize) -> io::Result<()> {
    let mut text = String::with_capacity(size + 80);
    write!(
        text,
        "From: Bench Sender <sender@example.test>\r\n\
         To: Bench Reader <reader@example.test>\r\n\
         Subject: Benchmark message {number}\r\n\
         Date: Mon, 1 Jan 2024 12:00:00 +0000\r\n\
         Message-ID: <bench.{number}.{size}@example.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    .expect("writing to a String cannot fail");
    let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut position = number;
    while text.len() + 78 <= size {
        for _ in 0..76 {
            text.push(alphabet[position % alphabet.len()] as char);
            position = position.wrapping_mul(31).wrapping_add(7);
        }
        text.push_str("\r\n");
    }
    let name = format!("{}.M{number}P1.bench:2,S", 1_700_000_000 + number);
    fs::write(folder.join("cur").join(name), text)
}
