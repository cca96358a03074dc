//! Checks shared by the fuzz targets and the stable corpus test. Each check
//! takes the raw fuzz input and panics when an expectation fails.
//!
//! The checks use only the public API of `imapgate` and `imapgate-proto`,
//! so this module can be compiled into the library's integration tests
//! without adding fuzzing crates to the library.

mod framer;
mod mutf7;
mod relay;
mod scanner;

pub use framer::check_framer;
pub use mutf7::check_mutf7;
pub use relay::{check_relay, check_rewrite};
pub use scanner::check_scanner;

/// Inputs longer than this are also fed one byte at a time. Longer inputs
/// only get whole and random cuts, to keep each run fast.
const BYTE_BY_BYTE_MAX: usize = 2048;

/// A small xorshift generator, so split points and decisions depend only on
/// the input.
struct Random(u64);

impl Random {
    /// Seeds the generator with a hash of `data` mixed with `salt`.
    fn from_input(data: &[u8], salt: u64) -> Random {
        // FNV-1a.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
        for &byte in data {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Random(hash | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `1..=max`.
    fn up_to(&mut self, max: usize) -> usize {
        1 + (self.next() % max as u64) as usize
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// How an input is cut into reads.
#[derive(Clone, Copy, Debug)]
enum Feed {
    Whole,
    ByteByByte,
    /// Random cuts of 1 to 16 bytes, from a generator with this seed.
    Random(u64),
}

impl Feed {
    /// The feeds a check runs for `data`: whole, byte by byte when short,
    /// and two random cuts.
    fn all_for(data: &[u8]) -> Vec<Feed> {
        let mut feeds = vec![Feed::Whole];
        if data.len() <= BYTE_BY_BYTE_MAX {
            feeds.push(Feed::ByteByByte);
        }
        for salt in [1, 2] {
            feeds.push(Feed::Random(Random::from_input(data, salt).0));
        }
        feeds
    }

    /// Cuts `bytes` into reads.
    fn cut<'a>(self, bytes: &'a [u8], random: &mut Random) -> Vec<&'a [u8]> {
        match self {
            Feed::Whole => vec![bytes],
            Feed::ByteByByte => bytes.chunks(1).collect(),
            Feed::Random(_) => {
                let mut reads = Vec::new();
                let mut rest = bytes;
                while !rest.is_empty() {
                    let len = random.up_to(16).min(rest.len());
                    reads.push(&rest[..len]);
                    rest = &rest[len..];
                }
                reads
            }
        }
    }

    fn random(self) -> Random {
        match self {
            Feed::Random(seed) => Random(seed),
            Feed::Whole | Feed::ByteByByte => Random(0x9e37_79b9_7f4a_7c15),
        }
    }
}
