//! Munin's message template language, as munin-limits expands a
//! contact's `text` (and its `command`).
//!
//! Text is copied as it is, except for `${...}` groups (braces balanced,
//! a backslash keeps the next character from counting):
//!
//! - `${var:NAME}`: NAME looked up from here upwards ([`super::scope`]);
//!   nothing when no node has it.
//! - `${loop<SEP>:LIST TEMPLATE}`: LIST is a variable holding names
//!   (`cfields`); TEMPLATE is expanded at each named child of this node
//!   (a field), the results joined by SEP. `${loop:LIST TEMPLATE}` joins
//!   them with nothing.
//! - `${if:NAME TEMPLATE}`, `${if:!NAME TEMPLATE}`: TEMPLATE when NAME is
//!   set, not empty and not `0` (or, with `!`, when it is not).
//! - `${strtrunc:N TEMPLATE}`: at most N bytes of TEMPLATE (cut back to
//!   the last whole character).
//!
//! A group of any other shape is kept without its `$`, as munin-limits
//! keeps it. Where munin-limits loops forever (a `$` not followed by `{`)
//! the `$` is kept; where it finds no closing brace, the `$` is dropped
//! and the rest read as text, as munin-limits does.

use std::sync::LazyLock;

use regex_lite::Regex;

use super::scope::Tree;

/// Groups nested deeper than this are kept as text: a broken munin.conf
/// must not exhaust the stack.
const MAX_DEPTH: usize = 64;

/// `text` expanded at `node` of `tree`.
pub fn expand(tree: &Tree, node: usize, text: &str) -> String {
    expand_at(tree, node, text, 0)
}

fn expand_at(tree: &Tree, node: usize, text: &str, depth: usize) -> String {
    pieces(text)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.to_string(),
            Piece::Group(g) => group_at(tree, node, g, depth),
        })
        .collect()
}

/// A part of a template: text as it is, or a `{...}` group (its `$`
/// left off) to expand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Group(&'a str),
}

/// `text` cut into its pieces.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut start = 0;
    // `rest` is `text[start..]`; `plain` bytes of it so far are text.
    let mut plain = 0;
    while let Some(i) = rest[plain..].find('$').map(|i| i + plain) {
        let after = &rest[i + 1..];
        let closed = after.starts_with('{').then(|| balanced(after)).flatten();
        match closed {
            Some(end) => {
                if i > 0 {
                    out.push(Piece::Text(&rest[..i]));
                }
                out.push(Piece::Group(&after[..end]));
                start += i + 1 + end;
                rest = &text[start..];
                plain = 0;
            }
            // A `$` munin-limits would loop on stays text.
            None if !after.starts_with('{') => plain = i + 1,
            // An unclosed group: its `$` goes, the rest is text.
            None => {
                if i > 0 {
                    out.push(Piece::Text(&rest[..i]));
                }
                start += i + 1;
                rest = &text[start..];
                plain = 0;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// The length of the brace group `s` starts with, if it closes.
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The shapes munin-limits knows, each anchored on the whole `{...}`.
struct Shapes {
    var: Regex,
    loop_sep: Regex,
    loop_plain: Regex,
    strtrunc: Regex,
    cond: Regex,
}

static SHAPES: LazyLock<Shapes> = LazyLock::new(|| {
    let re = |s: &str| Regex::new(s).expect("a fixed pattern");
    Shapes {
        var: re(r"^\{var:(\S+)\}$"),
        loop_sep: re(r"^\{loop<([^>]+)>:\s*(\S+)\s(.+)\}$"),
        loop_plain: re(r"^\{loop:\s*(\S+)\s(.+)\}$"),
        strtrunc: re(r"^\{strtrunc:\s*(\S+)\s(.+)\}$"),
        cond: re(r"^\{if:\s*(!)?(\S+)\s(.+)\}$"),
    }
});

/// One `{...}` group (braces included) expanded.
pub fn group(tree: &Tree, node: usize, g: &str) -> String {
    group_at(tree, node, g, 0)
}

fn group_at(tree: &Tree, node: usize, g: &str, depth: usize) -> String {
    if depth >= MAX_DEPTH {
        return g.to_string();
    }
    let depth = depth + 1;
    let s = &*SHAPES;
    if let Some(c) = s.var.captures(g) {
        return tree.get(node, &c[1]).unwrap_or_default().to_string();
    }
    if let Some(c) = s.loop_sep.captures(g) {
        return each(tree, node, &c[2], &c[3], depth).join(&c[1]);
    }
    if let Some(c) = s.loop_plain.captures(g) {
        return each(tree, node, &c[1], &c[2], depth).concat();
    }
    if let Some(c) = s.strtrunc.captures(g) {
        let text = expand_at(tree, node, &c[2], depth);
        return match c[1].parse::<usize>() {
            Ok(n) if c[1].bytes().all(|b| b.is_ascii_digit()) => cut(text, n),
            _ => text,
        };
    }
    if let Some(c) = s.cond.captures(g) {
        let set = tree
            .get(node, &c[2])
            .is_some_and(|v| !v.is_empty() && v != "0");
        return if set != c.get(1).is_some() {
            expand_at(tree, node, &c[3], depth)
        } else {
            String::new()
        };
    }
    g.to_string()
}

/// `template` at each child of `node` that the variable `list` names.
fn each(tree: &Tree, node: usize, list: &str, template: &str, depth: usize) -> Vec<String> {
    let names = tree.get(node, list).unwrap_or_default();
    if names.is_empty() || names == "0" {
        return Vec::new();
    }
    names
        .split_ascii_whitespace()
        .filter_map(|name| tree.child(node, name))
        .map(|child| expand_at(tree, child, template, depth))
        .collect()
}

/// At most `n` bytes of `s`, ending on a character boundary.
fn cut(mut s: String, n: usize) -> String {
    if s.len() > n {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::limits::scope::ROOT;

    /// The service and fields the cases below run on, as munin-limits
    /// would have them.
    fn tree() -> (Tree, usize) {
        let mut t = Tree::new();
        let svc = t.add(ROOT, "load");
        for (k, v) in [
            ("host", "h1"),
            ("plugin", "load"),
            ("cfields", "a b"),
            ("wfields", ""),
            ("ufields", "c"),
            ("numcfields", "2"),
            ("zero", "0"),
        ] {
            t.set(svc, k, v);
        }
        let a = t.add(svc, "a");
        t.set(a, "label", "A lab");
        t.set(a, "value", "1.00");
        let b = t.add(svc, "b");
        t.set(b, "label", "B lab");
        t.set(b, "value", "2.00");
        t.set(b, "extinfo", "xx");
        let c = t.add(svc, "c");
        t.set(c, "label", "C");
        t.set(c, "value", "unknown");
        (t, svc)
    }

    /// Each case's answer is what munin-limits 2.0.73's own expansion
    /// gives on the same tree (checked with Debian's package).
    #[test]
    fn expands_as_munin_limits() {
        let (t, svc) = tree();
        for (text, want) in [
            ("plain", "plain"),
            ("${var:host} x", "h1 x"),
            ("${var:nope}", ""),
            ("${nope}", "{nope}"),
            ("${var:}", "{var:}"),
            ("${var:host extra}", "{var:host extra}"),
            (
                "${if:cfields C:${loop<,>:cfields ${var:label}=${var:value}}}",
                "C:A lab=1.00,B lab=2.00",
            ),
            ("${if:!wfields none}", "none"),
            ("${if:zero yes}${if:!zero no}", "no"),
            ("${loop:cfields [${var:label}]}", "[A lab][B lab]"),
            ("${strtrunc:3 ${var:plugin}}", "loa"),
            ("${var:host", "{var:host"),
            ("{var:host}", "{var:host}"),
            ("\\${var:host}", "\\h1"),
            ("${if:cfields a\\}b}", "a\\}b"),
            (
                "${loop<; >:cfields ${var:label}${if:extinfo : ${var:extinfo}}}",
                "A lab; B lab: xx",
            ),
            ("${if:  cfields  two spaces}", " two spaces"),
            ("${var:label}", ""),
            ("${if:cfields \"}\" x}", "\"\" x}"),
            ("${if:cfields}", "{if:cfields}"),
            (
                "${loop<>:cfields ${var:label}}",
                "{loop<>:cfields ${var:label}}",
            ),
            ("${loop< >:cfields ${var:label}}", "A lab B lab"),
            ("${loop<,>:host ${var:label}}", ""),
            ("${var:numcfields}${var:wfields}|", "2|"),
            (
                "${loop<,>:ufields ${var:label} is ${var:value}${if:extinfo : ${var:extinfo}}}.",
                "C is unknown.",
            ),
            ("${ var:host}", "{ var:host}"),
            ("${if:!nope yes ${var:host}}", "yes h1"),
            ("${loop<,>:cfields ${loop<|>:cfields ${var:label}}}", ","),
        ] {
            assert_eq!(expand(&t, svc, text), want, "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_stops_as_text() {
        let (t, svc) = tree();
        let deep = "${if:host ".repeat(5_000) + &"}".repeat(5_000);
        let out = expand(&t, svc, &deep);
        assert!(out.starts_with("{if:host ${if:host"), "{}", &out[..40]);
    }

    /// Where munin-limits never returns, we do, keeping the text.
    #[test]
    fn stray_dollars_are_text() {
        let (t, svc) = tree();
        assert_eq!(expand(&t, svc, "cost $5"), "cost $5");
        assert_eq!(expand(&t, svc, "a$"), "a$");
        assert_eq!(expand(&t, svc, "$${var:host}"), "$h1");
        assert_eq!(expand(&t, svc, "${strtrunc:x abc}"), "abc");
        assert_eq!(expand(&t, svc, "${strtrunc:2 é}"), "é");
        assert_eq!(expand(&t, svc, "${strtrunc:1 é}"), "");
    }
}
