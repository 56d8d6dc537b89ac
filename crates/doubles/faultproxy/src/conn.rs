//! One client connection: read each request, count and record it, forward it to the
//! upstream over one upstream connection, and inject the planned fault when its index
//! comes up.

use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::fault::{Fault, TRICKLE_BYTES, TRICKLE_EVERY, TRICKLE_FOR};
use crate::message::{self, Head};

/// How long an idle client or a silent upstream is waited for.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// One request the proxy saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// 1-based, in the order the proxy read them.
    pub index: usize,
    pub method: String,
    /// The request target without its query.
    pub path: String,
    /// The fault injected into its answer, if any.
    pub fault: Option<Fault>,
}

/// What every connection shares.
#[derive(Debug)]
pub struct Shared {
    pub upstream: SocketAddr,
    pub seen: Mutex<Vec<Recorded>>,
    /// The request index and the fault to inject there; taken when it fires.
    pub plan: Mutex<Option<(usize, Fault)>>,
}

impl Shared {
    /// Records a request and returns the fault to inject into its answer.
    fn record(&self, head: &Head) -> Option<Fault> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let index = seen.len() + 1;
        let mut plan = self.plan.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = match *plan {
            Some((at, fault)) if at == index => {
                *plan = None;
                Some(fault)
            }
            _ => None,
        };
        let target = head.start.get(1).map(String::as_str).unwrap_or("");
        seen.push(Recorded {
            index,
            method: head.start.first().cloned().unwrap_or_default(),
            path: target.split('?').next().unwrap_or("").to_owned(),
            fault,
        });
        fault
    }
}

struct Upstream {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Upstream {
    fn connect(addr: SocketAddr) -> io::Result<Upstream> {
        let writer = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        writer.set_read_timeout(Some(IO_TIMEOUT))?;
        writer.set_nodelay(true)?;
        Ok(Upstream {
            reader: BufReader::new(writer.try_clone()?),
            writer,
        })
    }

    /// Sends a request and reads the final response (1xx answers are passed to the
    /// client as they come).
    fn exchange(
        &mut self,
        request: &[u8],
        method: &str,
        client: &mut TcpStream,
    ) -> io::Result<(Head, Vec<u8>)> {
        self.writer.write_all(request)?;
        loop {
            let head = message::read_head(&mut self.reader)?.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upstream closed the connection",
                )
            })?;
            let status = head.status();
            if (100..200).contains(&status) && status != 101 {
                client.write_all(&head.raw)?;
                continue;
            }
            let framing = message::response_framing(&head, method)?;
            let body = message::read_body(&mut self.reader, framing)?;
            return Ok((head, body));
        }
    }
}

/// Serves one client connection until it closes or a fault closes it.
pub fn serve(client: TcpStream, shared: Arc<Shared>) {
    let _ = serve_inner(client, &shared);
}

fn serve_inner(mut client: TcpStream, shared: &Shared) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_nodelay(true)?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut upstream: Option<Upstream> = None;
    loop {
        let Some(head) = message::read_head(&mut reader)? else {
            return Ok(());
        };
        let body = message::read_body(&mut reader, message::request_framing(&head)?)?;
        let fault = shared.record(&head);
        let method = head.start.first().cloned().unwrap_or_default();
        if let Some((status, reason)) = fault.and_then(Fault::status) {
            let text = format!("fault injected by bitvault-faultproxy: {status} {reason}\n");
            let retry = if status == 429 {
                "Retry-After: 1\r\n"
            } else {
                ""
            };
            write!(
                client,
                "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{retry}Connection: close\r\n\r\n{text}",
                text.len()
            )?;
            return close(&client);
        }
        let mut request = head.raw.clone();
        request.extend_from_slice(&body);
        if upstream.is_none() {
            upstream = Some(Upstream::connect(shared.upstream)?);
        }
        let exchanged = upstream
            .as_mut()
            .map(|u| u.exchange(&request, &method, &mut client))
            .unwrap_or_else(|| Err(io::Error::other("no upstream")));
        let (response, response_body) = match exchanged {
            Ok(r) => r,
            Err(e) => {
                // A real failure of the upstream, not an injected one.
                let text = format!("bitvault-faultproxy: upstream failed: {e}\n");
                write!(
                    client,
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                )?;
                return close(&client);
            }
        };
        let until_close =
            message::response_framing(&response, &method)? == message::Framing::UntilClose;
        let mut whole = response.raw.clone();
        whole.extend_from_slice(&response_body);
        match fault {
            Some(Fault::ResetAfterApplied) => return close(&client),
            Some(Fault::DropMidBody) => {
                let cut = if response_body.is_empty() {
                    response.raw.len() / 2
                } else {
                    response.raw.len() + response_body.len() / 2
                };
                client.write_all(&whole[..cut])?;
                client.flush()?;
                return close(&client);
            }
            Some(Fault::Trickle) => trickle(&mut client, &whole)?,
            _ => client.write_all(&whole)?,
        }
        if until_close || response.wants_close() || head.wants_close() {
            return close(&client);
        }
    }
}

fn trickle(client: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    let end = Instant::now() + TRICKLE_FOR;
    let mut sent = 0;
    while sent < bytes.len() && Instant::now() < end {
        let n = TRICKLE_BYTES.min(bytes.len() - sent);
        client.write_all(&bytes[sent..sent + n])?;
        client.flush()?;
        sent += n;
        std::thread::sleep(TRICKLE_EVERY);
    }
    client.write_all(&bytes[sent..])
}

fn close(client: &TcpStream) -> io::Result<()> {
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
