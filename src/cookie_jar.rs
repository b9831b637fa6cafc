//! The token `modelscope login` saved: the `m_session_id` cookie of the pickled
//! `requests.cookies.RequestsCookieJar` in `$MODELSCOPE_HOME/credentials/cookies`.
//!
//! The file is a Python pickle (`modelscope_hub.config.HubConfig.save_cookies`). Unpickling
//! runs whatever callables the stream names, so hubferry does not hand it to Python: this module
//! reads the stream as data. A small stack machine understands the opcodes the pickler emits for a
//! cookie jar (protocols 2–5), turns every global, `REDUCE`, `NEWOBJ` and `BUILD` into an inert
//! object node, and never imports or calls anything. A stream it does not understand is reported
//! as unreadable, as the SDK treats an `UnpicklingError` (no saved login).

use std::path::Path;

/// Larger files are not a cookie jar the SDK wrote (a saved login is about 1 kB).
const MAX_JAR_BYTES: u64 = 1 << 20;

/// What the saved login holds.
#[derive(Debug, PartialEq, Eq)]
pub enum SavedLogin {
    /// The `m_session_id` cookie's value.
    Token(String),
    /// The cookie's `expires` is past: the SDK ignores the whole jar then.
    Expired,
    /// No jar, or a jar without an `m_session_id` cookie.
    Absent,
    /// Not a pickle this reader understands (the SDK would not read it either, or it is damaged).
    Unreadable(String),
}

/// Reads the saved login at `path`, judging expiry against `now` (Unix seconds).
pub fn read_saved_login(path: &Path, now: i64) -> SavedLogin {
    let data = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return SavedLogin::Absent,
        Ok(meta) if meta.len() > MAX_JAR_BYTES => {
            return SavedLogin::Unreadable(format!("larger than {MAX_JAR_BYTES} bytes"))
        }
        Ok(_) => match std::fs::read(path) {
            Ok(data) => data,
            Err(e) => return SavedLogin::Unreadable(e.to_string()),
        },
        Err(_) => return SavedLogin::Absent,
    };
    match session_cookie(&data) {
        Ok(None) => SavedLogin::Absent,
        Ok(Some(cookie)) if cookie.expires.is_some_and(|at| at <= now) => SavedLogin::Expired,
        Ok(Some(cookie)) if cookie.value.trim().is_empty() => SavedLogin::Absent,
        Ok(Some(cookie)) => SavedLogin::Token(cookie.value),
        Err(e) => SavedLogin::Unreadable(e),
    }
}

#[derive(Debug, PartialEq)]
struct SessionCookie {
    value: String,
    expires: Option<i64>,
}

/// The first `http.cookiejar.Cookie` named `m_session_id` in the stream (the SDK's
/// `load_token` takes the first it iterates, which is the jar's insertion order).
fn session_cookie(data: &[u8]) -> Result<Option<SessionCookie>, String> {
    let arena = Machine::run(data)?;
    for node in &arena {
        let Node::Object { class, state, .. } = node else {
            continue;
        };
        if !matches!(&arena[*class], Node::Global(module, name) if module == "http.cookiejar" && name == "Cookie")
        {
            continue;
        }
        let Some(Node::Dict(items)) = state.map(|s| &arena[s]) else {
            continue;
        };
        let field = |key: &str| {
            items
                .iter()
                .find(|(k, _)| matches!(&arena[*k], Node::Str(s) if s == key))
                .map(|(_, v)| &arena[*v])
        };
        if !matches!(field("name"), Some(Node::Str(n)) if n == "m_session_id") {
            continue;
        }
        let Some(Node::Str(value)) = field("value") else {
            continue;
        };
        let expires = match field("expires") {
            Some(Node::Int(at)) => Some(*at),
            Some(Node::Float(at)) => Some(*at as i64),
            _ => None,
        };
        return Ok(Some(SessionCookie {
            value: value.clone(),
            expires,
        }));
    }
    Ok(None)
}

/// A value in the stream. Containers hold indices into the arena, so that a container the stream
/// fills after memoizing it (as the pickler always does) is the same node wherever it is used.
#[derive(Debug, Clone)]
enum Node {
    None,
    Bool,
    Int(i64),
    Float(f64),
    Str(String),
    Bytes,
    Tuple,
    List(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    /// A class or function the stream names; never resolved.
    Global(String, String),
    /// The result of calling `class` (REDUCE/NEWOBJ), with the state BUILD gave it.
    Object {
        class: usize,
        state: Option<usize>,
    },
}

enum Slot {
    Mark,
    Value(usize),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    arena: Vec<Node>,
    stack: Vec<Slot>,
    memo: std::collections::HashMap<u64, usize>,
}

impl<'a> Machine<'a> {
    fn run(data: &'a [u8]) -> Result<Vec<Node>, String> {
        let mut m = Machine {
            data,
            pos: 0,
            arena: Vec::new(),
            stack: Vec::new(),
            memo: std::collections::HashMap::new(),
        };
        loop {
            let op = m.take(1)?[0];
            if op == b'.' {
                return Ok(m.arena);
            }
            m.step(op)?;
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or("the stream ends early")?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, String> {
        usize::try_from(self.uint(n)?).map_err(|_| "a length out of range".to_owned())
    }

    fn line(&mut self) -> Result<&'a str, String> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("the stream ends early")?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| "a name that is not UTF-8".to_owned())
    }

    fn push(&mut self, node: Node) {
        self.arena.push(node);
        self.stack.push(Slot::Value(self.arena.len() - 1));
    }

    fn pop(&mut self) -> Result<usize, String> {
        match self.stack.pop() {
            Some(Slot::Value(i)) => Ok(i),
            _ => Err("a value is missing".into()),
        }
    }

    fn top(&self) -> Result<usize, String> {
        match self.stack.last() {
            Some(Slot::Value(i)) => Ok(*i),
            _ => Err("a value is missing".into()),
        }
    }

    /// Everything above the topmost mark (which is removed).
    fn pop_mark(&mut self) -> Result<Vec<usize>, String> {
        let mark = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or("a mark is missing")?;
        let items = self
            .stack
            .drain(mark..)
            .skip(1)
            .map(|s| match s {
                Slot::Value(i) => i,
                Slot::Mark => unreachable!("rposition found the last mark"),
            })
            .collect();
        Ok(items)
    }

    fn text(&mut self, n: usize) -> Result<(), String> {
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes).map_err(|_| "a string that is not UTF-8")?;
        self.push(Node::Str(s.to_owned()));
        Ok(())
    }

    fn memo_put(&mut self, key: u64) -> Result<(), String> {
        let top = self.top()?;
        self.memo.insert(key, top);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), String> {
        let i = *self.memo.get(&key).ok_or("a memo entry is missing")?;
        self.stack.push(Slot::Value(i));
        Ok(())
    }

    fn set_items(&mut self, dict: usize, items: Vec<usize>) -> Result<(), String> {
        if !items.len().is_multiple_of(2) {
            return Err("a key without a value".into());
        }
        let Node::Dict(entries) = &mut self.arena[dict] else {
            return Err("items set on something that is not a dict".into());
        };
        entries.extend(items.chunks(2).map(|kv| (kv[0], kv[1])));
        Ok(())
    }

    fn append(&mut self, list: usize, items: Vec<usize>) -> Result<(), String> {
        match &mut self.arena[list] {
            Node::List(entries) => entries.extend(items),
            // `set.update` / `list.extend` of an object the stream rebuilt: nothing to keep.
            Node::Object { .. } => {}
            _ => return Err("items appended to something that is not a list".into()),
        }
        Ok(())
    }

    fn step(&mut self, op: u8) -> Result<(), String> {
        match op {
            0x80 => {
                let proto = self.take(1)?[0];
                if !(2..=5).contains(&proto) {
                    return Err(format!("pickle protocol {proto}"));
                }
            }
            0x95 => {
                self.take(8)?;
            }
            b'(' => self.stack.push(Slot::Mark),
            b'0' => {
                self.stack.pop().ok_or("a value is missing")?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?;
                self.stack.push(Slot::Value(top));
            }
            b'N' => self.push(Node::None),
            0x88 | 0x89 => self.push(Node::Bool),
            b'K' => {
                let v = self.uint(1)?;
                self.push(Node::Int(v as i64));
            }
            b'M' => {
                let v = self.uint(2)?;
                self.push(Node::Int(v as i64));
            }
            b'J' => {
                let v = self.uint(4)? as u32 as i32;
                self.push(Node::Int(i64::from(v)));
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    self.len(1)?
                } else {
                    self.len(4)?
                };
                let bytes = self.take(n)?;
                // Longs wider than 64 bits are no expiry time; keep them as "not a number".
                let node = if n <= 8 {
                    let mut v: i64 = bytes
                        .iter()
                        .rev()
                        .fold(0i64, |acc, &b| (acc << 8) | i64::from(b));
                    if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    Node::Int(v)
                } else {
                    Node::None
                };
                self.push(node);
            }
            b'G' => {
                let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| "a short float")?;
                self.push(Node::Float(f64::from_be_bytes(bytes)));
            }
            0x8c => {
                let n = self.len(1)?;
                self.text(n)?;
            }
            b'X' => {
                let n = self.len(4)?;
                self.text(n)?;
            }
            0x8d => {
                let n = self.len(8)?;
                self.text(n)?;
            }
            b'U' | b'T' => {
                // Python 2 `str`: bytes, read as text when they are UTF-8 (a cookie value is ASCII).
                let n = if op == b'U' {
                    self.len(1)?
                } else {
                    self.len(4)?
                };
                self.text(n)?;
            }
            b'C' | b'B' | 0x8e | 0x96 => {
                let n = match op {
                    b'C' => self.len(1)?,
                    b'B' => self.len(4)?,
                    _ => self.len(8)?,
                };
                self.take(n)?;
                self.push(Node::Bytes);
            }
            b')' => self.push(Node::Tuple),
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                for _ in 0..n {
                    self.pop()?;
                }
                self.push(Node::Tuple);
            }
            b't' => {
                self.pop_mark()?;
                self.push(Node::Tuple);
            }
            b']' => self.push(Node::List(Vec::new())),
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Node::List(items));
            }
            b'a' => {
                let item = self.pop()?;
                let list = self.top()?;
                self.append(list, vec![item])?;
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                let list = self.top()?;
                if op == 0x90 && !matches!(self.arena[list], Node::List(_)) {
                    return Err("items added to something that is not a set".into());
                }
                self.append(list, items)?;
            }
            0x8f => self.push(Node::List(Vec::new())),
            0x91 => {
                let items = self.pop_mark()?;
                self.push(Node::List(items));
            }
            b'}' => self.push(Node::Dict(Vec::new())),
            b'd' => {
                let items = self.pop_mark()?;
                self.push(Node::Dict(Vec::new()));
                let dict = self.top()?;
                self.set_items(dict, items)?;
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                let dict = self.top()?;
                self.set_items(dict, vec![key, value])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                let dict = self.top()?;
                self.set_items(dict, items)?;
            }
            b'c' => {
                let module = self.line()?.to_owned();
                let name = self.line()?.to_owned();
                self.push(Node::Global(module, name));
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Node::Str(module), Node::Str(name)) = (&self.arena[module], &self.arena[name])
                else {
                    return Err("a global named by something that is not a string".into());
                };
                let node = Node::Global(module.clone(), name.clone());
                self.push(node);
            }
            b'R' | 0x81 => {
                self.pop()?; // the arguments
                let class = self.pop()?;
                self.push(Node::Object { class, state: None });
            }
            0x92 => {
                self.pop()?; // keyword arguments
                self.pop()?; // positional arguments
                let class = self.pop()?;
                self.push(Node::Object { class, state: None });
            }
            b'b' => {
                let state = self.pop()?;
                let target = self.top()?;
                let Node::Object { state: slot, .. } = &mut self.arena[target] else {
                    return Err("state built into something that is not an object".into());
                };
                *slot = Some(state);
            }
            0x94 => {
                let key = self.memo.len() as u64;
                self.memo_put(key)?;
            }
            // BINPUT / LONG_BINPUT, BINGET / LONG_BINGET: a 1- or 4-byte memo key.
            b'q' | b'r' => {
                let key = self.uint(if op == b'q' { 1 } else { 4 })?;
                self.memo_put(key)?;
            }
            b'h' | b'j' => {
                let key = self.uint(if op == b'h' { 1 } else { 4 })?;
                self.memo_get(key)?;
            }
            other => return Err(format!("opcode 0x{other:02x} at byte {}", self.pos - 1)),
        }
        Ok(())
    }
}

#[cfg(test)]
/// What `HubConfig.save_token("ms-canary-xyz")` of the pinned SDK writes, cut to its
/// structure: jar → `_cookies` → domain → path → name → Cookie with `__dict__` state
/// (protocol 4, memoized strings fetched back with BINGET).
pub(crate) fn sdk_like_jar(value: &str, expires: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 4];
    let s = |p: &mut Vec<u8>, text: &str| {
        p.push(0x8c);
        p.push(text.len() as u8);
        p.extend(text.as_bytes());
        p.push(0x94);
    };
    s(&mut p, "requests.cookies");
    s(&mut p, "RequestsCookieJar");
    p.extend([0x93, 0x94, b')', 0x81, 0x94, b'}', 0x94, b'(']);
    s(&mut p, "_cookies");
    p.extend([b'}', 0x94]);
    s(&mut p, "modelscope.cn");
    p.extend([b'}', 0x94]);
    s(&mut p, "/");
    p.extend([b'}', 0x94]);
    s(&mut p, "m_session_id"); // memo 9
    s(&mut p, "http.cookiejar");
    s(&mut p, "Cookie");
    p.extend([0x93, 0x94, b')', 0x81, 0x94, b'}', 0x94, b'(']);
    s(&mut p, "name");
    p.extend([b'h', 11]);
    s(&mut p, "value");
    s(&mut p, value);
    s(&mut p, "expires");
    p.extend(expires);
    p.extend([b'u', b'b', b's', b's', b's', b'u', b'b', b'.']);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_read_without_running_anything() {
        let data = sdk_like_jar("ms-canary-xyz", &[b'J', 0x00, 0xe1, 0xf5, 0x05]);
        assert_eq!(
            session_cookie(&data).unwrap(),
            Some(SessionCookie {
                value: "ms-canary-xyz".into(),
                expires: Some(100_000_000),
            })
        );
        let no_expiry = sdk_like_jar("ms-canary-xyz", b"N");
        assert_eq!(session_cookie(&no_expiry).unwrap().unwrap().expires, None);
    }

    #[test]
    fn expired_absent_and_damaged_jars() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cookies");
        assert_eq!(read_saved_login(&path, 0), SavedLogin::Absent);
        std::fs::write(
            &path,
            sdk_like_jar("tok-1234", &[b'J', 0x00, 0xe1, 0xf5, 0x05]),
        )
        .unwrap();
        assert_eq!(
            read_saved_login(&path, 99_999_999),
            SavedLogin::Token("tok-1234".into())
        );
        assert_eq!(read_saved_login(&path, 100_000_000), SavedLogin::Expired);
        let mut cut = sdk_like_jar("tok-1234", b"N");
        cut.truncate(cut.len() / 2);
        std::fs::write(&path, cut).unwrap();
        assert!(matches!(
            read_saved_login(&path, 0),
            SavedLogin::Unreadable(_)
        ));
    }

    #[test]
    fn a_stream_that_would_run_code_is_only_data() {
        // `os.system("touch PWNED")` by REDUCE: the reader builds an inert node and finds no cookie.
        let mut p = vec![0x80, 2, b'c'];
        p.extend(b"os\nsystem\n");
        p.push(b'X');
        p.extend(10u32.to_le_bytes());
        p.extend(b"touch PWND");
        p.extend([0x85, b'R', b'.']);
        assert_eq!(session_cookie(&p).unwrap(), None);
    }

    #[test]
    fn text_protocol_and_unknown_opcodes_are_unreadable() {
        assert!(session_cookie(b"(dp0\n.").is_err());
        assert!(session_cookie(&[0x80, 0]).is_err());
    }
}
