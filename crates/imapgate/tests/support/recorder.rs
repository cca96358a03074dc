//! A TCP relay that records the bytes of each direction, placed between
//! imapgate and the server to see exactly what the server sent and got.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// Bytes of one direction of one connection, shared with its copy thread.
type Recorded = Arc<Mutex<Vec<u8>>>;

/// Records every connection it relays to `target`.
pub struct Recorder {
    addr: SocketAddr,
    /// Bytes from the server, per connection in accept order.
    from_server: Arc<Mutex<Vec<Recorded>>>,
    /// Bytes to the server, per connection in accept order.
    to_server: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    pub fn start(target: SocketAddr) -> Recorder {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("failed to bind the recorder");
        let addr = listener.local_addr().expect("bound socket has an address");
        let from_server = Arc::new(Mutex::new(Vec::new()));
        let to_server = Arc::new(Mutex::new(Vec::new()));
        let (from_list, to_list) = (from_server.clone(), to_server.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let server = TcpStream::connect(target).expect("recorder failed to connect to the server");
                let from = Arc::new(Mutex::new(Vec::new()));
                let to = Arc::new(Mutex::new(Vec::new()));
                from_list.lock().unwrap().push(from.clone());
                to_list.lock().unwrap().push(to.clone());
                copy(server.try_clone().unwrap(), client.try_clone().unwrap(), from);
                copy(client, server, to);
            }
        });
        Recorder { addr, from_server, to_server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Bytes the server sent on connection `index`.
    pub fn sent_by_server(&self, index: usize) -> Vec<u8> {
        self.from_server.lock().unwrap()[index].lock().unwrap().clone()
    }

    /// Bytes the server received on connection `index`.
    pub fn received_by_server(&self, index: usize) -> Vec<u8> {
        self.to_server.lock().unwrap()[index].lock().unwrap().clone()
    }
}

/// Copies `from` to `to` on a thread, recording the bytes.
fn copy(mut from: TcpStream, mut to: TcpStream, record: Recorded) {
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(count) => {
                    record.lock().unwrap().extend_from_slice(&buf[..count]);
                    if to.write_all(&buf[..count]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
