//! The one pattern language for `--include`/`--exclude` (and a mirror's `include`/`exclude`):
//! what `hf download --include` and huggingface_hub's `allow_patterns` accept (Python
//! `fnmatch.fnmatchcase` on the repo path, as `filter_repo_objects` applies it) plus brace
//! alternatives. Documented in docs/cli.md, "Choosing files".
//!
//! - `*` matches any run of characters, `/` included (`data/*.json` matches `data/x/y.json`);
//!   `**` is the same as `*`, so `**/*.bin` needs at least one `/` before the name, as in fnmatch.
//! - `?` one character; `[seq]` one character of the set (ranges `a-z`); `[!seq]` one not in it.
//! - `{a,b}` either alternative (nested braces work; `\{`-style escapes do not exist).
//! - A pattern ending in `/` matches everything below that folder (`sub/` = `sub/*`), and `\` is a
//!   path separator, both as in `filter_repo_objects`.
//!
//! Where fnmatch would silently read a typo literally — an unclosed `[` — or a brace is unbalanced,
//! the pattern is refused instead ([`Pattern::parse`]); `[[]` still matches a literal `[`.

/// One parsed pattern: its brace alternatives, each a token sequence.
#[derive(Debug, Clone)]
pub struct Pattern {
    alternatives: Vec<Vec<Token>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    Any,
    One,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

/// At most this many alternatives after brace expansion: `{a,b}{c,d}…` grows exponentially.
const MAX_ALTERNATIVES: usize = 1024;

impl Pattern {
    /// Parses `text`; the error names the pattern and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut normalized = text.replace('\\', "/");
        if normalized.ends_with('/') {
            normalized.push('*');
        }
        let chars: Vec<char> = normalized.chars().collect();
        let expanded =
            expand_braces(&chars).map_err(|why| format!("bad pattern `{text}`: {why}"))?;
        if expanded.len() > MAX_ALTERNATIVES {
            return Err(format!(
                "bad pattern `{text}`: its braces expand to more than {MAX_ALTERNATIVES} alternatives"
            ));
        }
        let alternatives = expanded
            .iter()
            .map(|alt| tokenize(alt))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| format!("bad pattern `{text}`: {why}"))?;
        Ok(Pattern { alternatives })
    }

    /// True when the whole of `path` matches one alternative (case-sensitive).
    pub fn matches(&self, path: &str) -> bool {
        let normalized;
        let path = if path.contains('\\') {
            normalized = path.replace('\\', "/");
            normalized.as_str()
        } else {
            path
        };
        let chars: Vec<char> = path.chars().collect();
        self.alternatives.iter().any(|t| match_tokens(t, &chars))
    }
}

/// Where the `]` closing a set that opens at `chars[open]` is, fnmatch's way: a `]` right after
/// `[` or `[!` belongs to the set.
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut j = open + 1;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    (j..chars.len()).find(|&k| chars[k] == ']')
}

/// Expands `{a,b}` groups (outside sets) into plain fnmatch patterns.
fn expand_braces(chars: &[char]) -> Result<Vec<Vec<char>>, String> {
    // The first top-level group: its open index, close index, and top-level comma positions.
    let mut depth = 0usize;
    let mut open = None;
    let mut commas = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                i = class_end(chars, i)
                    .ok_or("a `[` is never closed (write `[[]` for a literal `[`)")?;
            }
            '{' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            '}' => {
                if depth == 0 {
                    return Err("a `}` has no `{` before it".into());
                }
                depth -= 1;
                if depth == 0 {
                    let start = open.expect("depth 0 → 1 set open");
                    if i == start + 1 {
                        return Err("`{}` holds no alternative".into());
                    }
                    let mut bounds = vec![start];
                    bounds.extend(&commas);
                    bounds.push(i);
                    let (prefix, suffix) = (&chars[..start], &chars[i + 1..]);
                    let mut out = Vec::new();
                    for w in bounds.windows(2) {
                        let mut alt = prefix.to_vec();
                        alt.extend_from_slice(&chars[w[0] + 1..w[1]]);
                        alt.extend_from_slice(suffix);
                        for e in expand_braces(&alt)? {
                            out.push(e);
                            if out.len() > MAX_ALTERNATIVES {
                                return Ok(out);
                            }
                        }
                    }
                    return Ok(out);
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        return Err("a `{` is never closed".into());
    }
    Ok(vec![chars.to_vec()])
}

fn tokenize(chars: &[char]) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if out.last() != Some(&Token::Any) {
                    out.push(Token::Any);
                }
            }
            '?' => out.push(Token::One),
            '[' => {
                let end = class_end(chars, i)
                    .ok_or("a `[` is never closed (write `[[]` for a literal `[`)")?;
                let mut j = i + 1;
                let negated = chars[j] == '!';
                if negated {
                    j += 1;
                }
                let body = &chars[j..end];
                let mut items = Vec::new();
                let mut k = 0;
                while k < body.len() {
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        // fnmatch drops a reversed range (`[z-a]`) rather than failing.
                        if body[k] <= body[k + 2] {
                            items.push((body[k], body[k + 2]));
                        }
                        k += 3;
                    } else {
                        items.push((body[k], body[k]));
                        k += 1;
                    }
                }
                out.push(Token::Class { negated, items });
                i = end;
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    Ok(out)
}

/// Wildcard matching with single-star backtracking: linear in practice, never exponential.
fn match_tokens(tokens: &[Token], path: &[char]) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while p < path.len() {
        match tokens.get(t) {
            Some(Token::Any) => {
                star = Some((t, p));
                t += 1;
                continue;
            }
            Some(tok) if one_matches(tok, path[p]) => {
                t += 1;
                p += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((st, sp)) => {
                t = st + 1;
                p = sp + 1;
                star = Some((st, sp + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Any)
}

fn one_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Char(x) => *x == c,
        Token::One => true,
        Token::Class { negated, items } => {
            items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        Token::Any => false,
    }
}

/// Include/exclude patterns on repository paths. No include pattern means everything is
/// included; an exclude wins over an include.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    include: Option<Vec<Pattern>>,
    exclude: Vec<Pattern>,
}

impl Selection {
    /// Parses both lists; the first malformed pattern is the error.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        let parse = |list: &[String]| -> Result<Vec<Pattern>, String> {
            list.iter().map(|p| Pattern::parse(p)).collect()
        };
        Ok(Selection {
            include: if include.is_empty() {
                None
            } else {
                Some(parse(include)?)
            },
            exclude: parse(exclude)?,
        })
    }

    /// A selection that keeps every path.
    pub fn all() -> Self {
        Selection::default()
    }

    /// True when `path` is selected.
    pub fn matches(&self, path: &str) -> bool {
        self.include
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p.matches(path)))
            && !self.exclude.iter().any(|p| p.matches(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(path)
    }

    #[test]
    fn fnmatch_rules() {
        for (pattern, path, want) in [
            ("*.json", "sub/dir/x.json", true),
            ("**/*.bin", "a.bin", false),
            ("**/*.bin", "d/a.bin", true),
            ("sub/*", "sub/x/y", true),
            ("sub/", "sub/x", true),
            ("sub/", "subx", false),
            ("?.txt", "a.txt", true),
            ("?.txt", "ab.txt", false),
            ("[ab]*", "b/z", true),
            ("[ab]*", "c", false),
            ("[!ab]*", "c", true),
            ("[!ab]*", "a", false),
            ("[]]x", "]x", true),
            ("[!]]x", "ax", true),
            ("[a-c]", "b", true),
            ("[z-a]x", "zx", false),
            ("[[]x", "[x", true),
            ("*.safetensors", "model.safetensors", true),
            ("Model*", "model.bin", false),
            ("d\\*.txt", "d/a.txt", true),
            ("é*", "éte ü.bin", true),
            ("* *", "a b", true),
        ] {
            assert_eq!(m(pattern, path), want, "{pattern} on {path}");
        }
    }

    #[test]
    fn braces_are_alternatives() {
        assert!(m("*.{json,txt}", "a.json"));
        assert!(m("*.{json,txt}", "sub/b.txt"));
        assert!(!m("*.{json,txt}", "c.bin"));
        assert!(m("{a,b{c,d}}.x", "bd.x"));
        assert!(m("x{,.y}", "x"));
        assert!(m("[{]", "{"), "a brace inside a set is literal");
        assert!(m("{[,],z}", ","), "a comma inside a set does not split");
    }

    #[test]
    fn malformed_patterns_name_themselves() {
        for bad in ["[", "a[b", "{a,b", "a}", "x{}"] {
            let e = Pattern::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        let many = "{a,b}".repeat(11);
        assert!(Pattern::parse(&many).unwrap_err().contains("1024"));
    }

    #[test]
    fn exclude_wins_and_no_include_means_all() {
        let s = Selection::new(&["*.bin".into()], &["bad*".into()]).unwrap();
        assert!(s.matches("x/y.bin"));
        assert!(!s.matches("bad.bin"));
        assert!(!s.matches("a.txt"));
        let s = Selection::new(&[], &["*.txt".into()]).unwrap();
        assert!(s.matches("a.bin") && !s.matches("a.txt"));
    }
}
