//! Detach keys, shared by the daemon (server-side detach of TTY attaches) and the CLI:
//! moby/term's `ToBytes` and its `EscapeProxy`.

/// The default detach keys: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [16, 17];

/// moby/term's `ToBytes`: "ctrl-p,ctrl-q" → `[16, 17]`; single characters stand for
/// themselves.
pub fn parse_detach_keys(keys: &str) -> Result<Vec<u8>, String> {
    let mut codes = Vec::new();
    for key in keys.split(',') {
        if key.len() == 1 {
            codes.push(key.as_bytes()[0]);
            continue;
        }
        let code = key.strip_prefix("ctrl-").and_then(|k| match k.as_bytes() {
            [c @ b'a'..=b'z'] => Some(c - b'a' + 1),
            [b'@'] => Some(0),
            [b'['] => Some(27),
            [b'\\'] => Some(28),
            [b']'] => Some(29),
            [b'^'] => Some(30),
            [b'_'] => Some(31),
            _ => None,
        });
        match code {
            Some(c) => codes.push(c),
            None => return Err(format!("Unknown character: '{key}'")),
        }
    }
    Ok(codes)
}

/// moby/term's `EscapeProxy`: holds back single-byte reads that match the start of the detach
/// sequence, gives them back on a mismatch, and reports a full match.
#[derive(Debug)]
pub struct EscapeProxy {
    keys: Vec<u8>,
    pos: usize,
}

/// What [`EscapeProxy::feed`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Escape {
    /// Send these bytes on.
    Data(Vec<u8>),
    /// The detach sequence was typed.
    Detach,
}

impl EscapeProxy {
    /// A proxy for `keys` (empty: never detaches).
    pub fn new(keys: Vec<u8>) -> EscapeProxy {
        EscapeProxy { keys, pos: 0 }
    }

    /// Filters one read of `input`.
    pub fn feed(&mut self, input: &[u8]) -> Escape {
        if self.keys.is_empty() {
            return Escape::Data(input.to_vec());
        }
        let held = |p: &mut EscapeProxy, input: &[u8]| {
            let mut out = p.keys[..p.pos].to_vec();
            out.extend_from_slice(input);
            p.pos = 0;
            Escape::Data(out)
        };
        if input.len() != 1 || input[0] != self.keys[self.pos] {
            return held(self, input);
        }
        if self.pos == self.keys.len() - 1 {
            return Escape::Detach;
        }
        self.pos += 1;
        Escape::Data(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_moby() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), DEFAULT_DETACH_KEYS);
        assert_eq!(parse_detach_keys("a,ctrl-@,ctrl-_").unwrap(), [b'a', 0, 31]);
        assert_eq!(parse_detach_keys("ctrl-1").unwrap_err(), "Unknown character: 'ctrl-1'");
        assert_eq!(parse_detach_keys("foo").unwrap_err(), "Unknown character: 'foo'");
    }

    #[test]
    fn the_proxy_holds_back_a_prefix_and_detaches_on_the_whole() {
        let mut p = EscapeProxy::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(p.feed(b"ls\n"), Escape::Data(b"ls\n".to_vec()));
        assert_eq!(p.feed(&[16]), Escape::Data(vec![]));
        assert_eq!(p.feed(b"x"), Escape::Data(vec![16, b'x']));
        assert_eq!(p.feed(&[16]), Escape::Data(vec![]));
        assert_eq!(p.feed(&[17]), Escape::Detach);
        // Multi-byte reads never match (moby only matches single-byte reads).
        let mut p = EscapeProxy::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(p.feed(&[16, 17]), Escape::Data(vec![16, 17]));
        let mut p = EscapeProxy::new(vec![]);
        assert_eq!(p.feed(&[16]), Escape::Data(vec![16]));
    }
}
