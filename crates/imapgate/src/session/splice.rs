//! Moves literal data from one plain TCP socket to another through a pipe
//! with splice(2), so the bytes of a large FETCH body or APPEND message
//! never enter imapgate's memory. The relay still frames everything around
//! the literal; only data it would copy through untouched goes this way.
//!
//! A pipe exists only while a direction moves a literal and is closed when
//! the session goes idle, so idle sessions hold no extra descriptors.
//! On systems other than Linux, [`Pipe::open`] always fails and the relay
//! reads and writes as usual.

use std::io;
use std::task::{Context, Poll, ready};

use tokio::io::Interest;

use super::socket;
use super::stream::Stream;

/// Smallest literal remainder worth splicing; shorter ones are read.
const MIN_SPLICE: u64 = 16 * 1024;

/// Pipe capacity asked for; the system may grant less.
const PIPE_SIZE: usize = 256 * 1024;

/// One direction's pipe and the bytes waiting in it.
#[derive(Default)]
pub struct Splice {
    pipe: Option<Pipe>,
    /// Bytes moved into the pipe and not yet out of it.
    pub queued: usize,
    /// Set once opening a pipe failed, so it is not tried again.
    unavailable: bool,
}

impl Splice {
    /// Returns how many literal bytes to splice now: 0 unless splicing is
    /// `allowed` and the relay offers a `bypass` of at least [`MIN_SPLICE`]
    /// bytes. Nothing may come before them (`earlier`: bytes read or queued
    /// in that direction), the pipe must be empty, and a pipe must open.
    pub fn len_to_splice(&mut self, allowed: bool, bypass: u64, earlier: bool) -> usize {
        if !allowed || bypass < MIN_SPLICE || earlier || self.queued > 0 {
            return 0;
        }
        if self.pipe.is_none() && !self.unavailable {
            match Pipe::open() {
                Ok(pipe) => self.pipe = Some(pipe),
                Err(error) => {
                    tracing::debug!(%error, "splice is unavailable; literals are copied");
                    self.unavailable = true;
                }
            }
        }
        match self.pipe {
            Some(_) => usize::try_from(bypass).unwrap_or(usize::MAX),
            None => 0,
        }
    }

    /// Moves up to `len` bytes from `from` into the empty pipe; 0 means the
    /// peer closed its side. Pending when `from` is not plain TCP or no pipe
    /// is open, which [`Splice::len_to_splice`] rules out.
    pub fn poll_fill(&self, from: &Stream, len: usize, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let (Some(from), Some(pipe)) = (socket::tcp(from), &self.pipe) else {
            return Poll::Pending;
        };
        let len = len.min(pipe.capacity);
        loop {
            ready!(from.poll_read_ready(cx))?;
            // The pipe is empty, so "would block" means the socket had no data.
            match from.try_io(Interest::READABLE, || pipe.splice_in(from, len)) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    /// Moves queued bytes from the pipe to `to`.
    pub fn poll_drain(&self, to: &Stream, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let (Some(to), Some(pipe)) = (socket::tcp(to), &self.pipe) else {
            return Poll::Pending;
        };
        loop {
            ready!(to.poll_write_ready(cx))?;
            // The pipe has data, so "would block" means the socket is full.
            match to.try_io(Interest::WRITABLE, || pipe.splice_out(to, self.queued)) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Ok(0) => return Poll::Ready(Err(io::Error::new(io::ErrorKind::WriteZero, "splice wrote nothing"))),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Closes an empty pipe.
    pub fn release(&mut self) {
        if self.queued == 0 {
            self.pipe = None;
        }
    }
}

#[cfg(target_os = "linux")]
pub use linux::Pipe;
#[cfg(not(target_os = "linux"))]
pub use other::Pipe;

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::OwnedFd;

    use rustix::pipe::{PipeFlags, SpliceFlags};
    use tokio::net::TcpStream;

    /// A non-blocking pipe.
    pub struct Pipe {
        read: OwnedFd,
        write: OwnedFd,
        pub(super) capacity: usize,
    }

    impl Pipe {
        pub fn open() -> io::Result<Pipe> {
            let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
            // A larger pipe means fewer system calls per literal; the
            // default (64 KiB) still works when the system refuses.
            let capacity = rustix::pipe::fcntl_setpipe_size(&write, super::PIPE_SIZE)
                .or_else(|_| rustix::pipe::fcntl_getpipe_size(&write))?;
            Ok(Pipe { read, write, capacity })
        }

        pub(super) fn splice_in(&self, from: &TcpStream, len: usize) -> io::Result<usize> {
            let flags = SpliceFlags::NONBLOCK | SpliceFlags::MOVE;
            Ok(rustix::pipe::splice(from, None, &self.write, None, len, flags)?)
        }

        pub(super) fn splice_out(&self, to: &TcpStream, len: usize) -> io::Result<usize> {
            let flags = SpliceFlags::NONBLOCK | SpliceFlags::MOVE;
            Ok(rustix::pipe::splice(&self.read, None, to, None, len, flags)?)
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod other {
    use std::io;

    use tokio::net::TcpStream;

    /// Stands in for a pipe where splice(2) does not exist; never opens.
    pub struct Pipe {
        pub(super) capacity: usize,
    }

    impl Pipe {
        pub fn open() -> io::Result<Pipe> {
            Err(io::Error::new(io::ErrorKind::Unsupported, "splice exists only on Linux"))
        }

        pub(super) fn splice_in(&self, _from: &TcpStream, _len: usize) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::Unsupported))
        }

        pub(super) fn splice_out(&self, _to: &TcpStream, _len: usize) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::Unsupported))
        }
    }
}
