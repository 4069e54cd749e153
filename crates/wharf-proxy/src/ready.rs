//! The readiness protocol: after binding the host address, the proxy writes exactly one line
//! on `--ready-fd` and closes it — [`OK`] when it is serving, otherwise the error as Go's `net`
//! package words a failed listen (`listen tcp4 0.0.0.0:8080: bind: address already in use`),
//! which is what docker-proxy reported and dockerd wrapped.

use std::io;
use std::net::SocketAddr;

use crate::Proto;

/// The line of a proxy that bound its address and is serving.
pub const OK: &str = "ok";

/// Reads a readiness line: `Ok(())` for [`OK`], else the error text (trailing newline and
/// whitespace dropped).
pub fn parse_line(line: &str) -> Result<(), String> {
    let line = line.trim_end();
    if line == OK {
        Ok(())
    } else {
        Err(line.to_string())
    }
}

/// Go's text for an errno (`syscall.Errno.Error()`): libc's message with a lower-case first
/// letter, e.g. `address already in use`, `cannot assign requested address`.
pub fn errno_text(err: &io::Error) -> String {
    let full = match err.raw_os_error() {
        Some(code) => {
            let s = io::Error::from_raw_os_error(code).to_string();
            match s.rfind(" (os error ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        None => err.to_string(),
    };
    let mut chars = full.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => full,
    }
}

/// Go's `net.OpError` text for a listen that failed in `syscall` (`socket`, `setsockopt`,
/// `bind` or `listen`): `listen tcp4 0.0.0.0:8080: bind: address already in use`,
/// `listen udp6 [::1]:53: bind: …`.
pub fn listen_error(proto: Proto, addr: SocketAddr, syscall: &str, err: &io::Error) -> String {
    let family = if addr.is_ipv4() { '4' } else { '6' };
    format!("listen {proto}{family} {addr}: {syscall}: {}", errno_text(err))
}

/// The errno text of a bind failure reported by [`listen_error`] (`address already in use`),
/// or `None` when the line reports something else.
pub fn bind_cause(text: &str) -> Option<&str> {
    if !text.starts_with("listen ") {
        return None;
    }
    text.rsplit_once(": bind: ").map(|(_, cause)| cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(parse_line("ok\n"), Ok(()));
        assert_eq!(parse_line("ok"), Ok(()));
        assert_eq!(parse_line("listen tcp4 0.0.0.0:1: bind: x\n"), Err("listen tcp4 0.0.0.0:1: bind: x".into()));
        assert_eq!(parse_line(""), Err(String::new()));
    }

    #[test]
    fn go_errno_texts() {
        assert_eq!(errno_text(&io::Error::from_raw_os_error(libc::EADDRINUSE)), "address already in use");
        assert_eq!(errno_text(&io::Error::from_raw_os_error(libc::EADDRNOTAVAIL)), "cannot assign requested address");
        assert_eq!(errno_text(&io::Error::from_raw_os_error(libc::EACCES)), "permission denied");
        assert_eq!(errno_text(&io::Error::other("Odd")), "odd");
    }

    #[test]
    fn go_listen_texts() {
        let inuse = io::Error::from_raw_os_error(libc::EADDRINUSE);
        let text = listen_error(Proto::Tcp, "0.0.0.0:8080".parse().unwrap(), "bind", &inuse);
        assert_eq!(text, "listen tcp4 0.0.0.0:8080: bind: address already in use");
        assert_eq!(bind_cause(&text), Some("address already in use"));
        let text = listen_error(Proto::Udp, "[::]:53".parse().unwrap(), "bind", &inuse);
        assert_eq!(text, "listen udp6 [::]:53: bind: address already in use");
        let text = listen_error(Proto::Tcp, "[::1]:80".parse().unwrap(), "socket", &inuse);
        assert_eq!(bind_cause(&text), None);
        assert_eq!(bind_cause("unsupported protocol sctp"), None);
    }
}
