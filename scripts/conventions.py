#!/usr/bin/env python3
"""weft's house conventions, checked by machine (Python 3 standard library only).

    python3 scripts/conventions.py ordering    [CRATE_DIR...]
    python3 scripts/conventions.py std-atomics [CRATE_DIR...]
    python3 scripts/conventions.py list        [CRATE_DIR...]

CRATE_DIR defaults to the three library crates: crates/weft-core, crates/weft-channel and
crates/weft-shared. Each check reads the crate's library code (the files reachable from
`src/lib.rs` through `mod` declarations), prints one `file:line: message` per violation
and exits 1 if there is any (0 if none, 2 on bad usage).

`ordering` checks two rules:

1. Every atomic operation carries an `// ORDERING:` comment. An atomic operation is a call
   `name(...)` or `.name(...)` one of whose arguments is a memory ordering: a path ending
   in `Ordering::{Relaxed, Release, Acquire, AcqRel, SeqCst}` (`Ordering::SeqCst`,
   `atomic::Ordering::SeqCst`, `std::sync::atomic::Ordering::SeqCst`, or an alias the file
   imports: `use std::sync::atomic::Ordering as AtomicOrdering`), or one of those five
   names alone (or its alias) when the file imports it from an `Ordering` path
   (`use ...Ordering::SeqCst`, `Ordering::{...}`, `Ordering::*`). That covers load, store,
   swap, fetch_*, compare_exchange*, fetch_update, fence and any wrapper that takes an
   ordering, also when the ordering arguments sit on later lines than the method name.
   It does not count comments, doc comments (examples in docs), string literals, `use`
   items, macro invocations (`assert_eq!(a, Ordering::SeqCst)`), constructors
   (`Some(Ordering::SeqCst)`), `cmp::Ordering`'s `Less`/`Equal`/`Greater`, nor an
   ordering passed through a variable or a constant (the script cannot see those).
   The comment counts when a `//` comment containing `ORDERING:` followed by text is
   - on a line of the call, from the method name to the call's `)` (a trailing comment,
     or one between the call's arguments), or
   - at the end of the statement's first line, or in the block of comment-only lines
     directly above it, or directly above the line of the method name (for a call on a
     later line of a chain or of a condition).
   The statement's first line is found by walking back from the method name over
   balanced brackets to a `;`, `,`, `{`, `}` or `=>`, or to an unbalanced opening bracket.
   One comment covers one operation: two statements need two comments.
2. Every `unsafe fn` item (private ones too) has a `# Safety` section in its doc comment
   (`/// # Safety` among the `///` lines directly above it, attributes may sit between).
   Methods of a trait impl (`impl Trait for Type`) are exempt: their contract is the
   trait's, whose `unsafe fn` declaration is checked. Function pointer types
   (`unsafe fn(Args)`) are not items.

`std-atomics` rejects atomics taken from anywhere but the crate's `sync` module (the shim
that swaps std for loom under `--cfg weft_loom`): any path through `std::sync::atomic`,
`core::sync::atomic` or `loom::sync::atomic` (in `use` items, including nested groups
like `use std::sync::{atomic::AtomicBool, Arc}`, and in expressions and types) outside
`src/sync.rs` (or `src/sync/`).

Test code is exempt from all rules: modules and items under `#[cfg(test)]` (also
`cfg(all(test, ...))` and `cfg(doctest)`), `#[test]` functions, and every file of a module
declared under such an attribute (`#[cfg(all(test, weft_loom))] mod loom_tests;`). Tests
may use std atomics and plain SeqCst without comment.

`list` prints every atomic operation the `ordering` check found, with its method name and
whether its comment was found, then counts per crate: to see what the rules cover.

Why not clippy's `disallowed-types` for std atomics: clippy resolves a type to its
definition, and in normal builds `crate::sync::AtomicUsize` *is* `std`'s `AtomicUsize` (the
shim re-exports it), so the lint fires at every use of the shim, not only at imports that
bypass it.
"""

import os
import re
import sys

DEFAULT_CRATES = ["crates/weft-core", "crates/weft-channel", "crates/weft-shared"]

ORDERINGS = ("Relaxed", "Release", "Acquire", "AcqRel", "SeqCst")
KEYWORDS = {
    "if", "while", "match", "return", "in", "for", "loop", "else", "let", "move", "fn",
    "break", "continue", "as", "mut", "ref", "where", "unsafe", "async", "await", "yield",
}
OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")": "(", "]": "[", "}": "{"}


# --------------------------------------------------------------------------------------
# Lexing: blank out comments and literals, keep the comments' text per line.


class Source:
    """One Rust file: `code` is the text with every comment and string or char literal
    replaced by spaces (newlines kept, so offsets and line numbers match the file);
    `comments[n]` is the text of the comments on line n (0-based)."""

    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.text = text
        code, comments = lex(text)
        self.code = code
        self.comments = comments
        self.line_starts = [0]
        for i, c in enumerate(code):
            if c == "\n":
                self.line_starts.append(i + 1)
        self.code_lines = code.split("\n")
        self._structure()

    def line_of(self, index):
        """0-based line of a character offset."""
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= index:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def comment_only(self, line):
        return not self.code_lines[line].strip() and bool(self.comments[line].strip())

    def _structure(self):
        """Matches brackets; records for every offset its innermost open bracket, and for
        every `{` whether its block is test code or a trait impl."""
        code = self.code
        n = len(code)
        self.parent = [-1] * n  # innermost unclosed opener at each offset
        self.match = {}  # opener offset -> closer offset
        self.block_test = {}  # `{` offset -> is test code (itself or an enclosing block)
        self.block_trait_impl = {}  # `{` offset -> is `impl Trait for Type {`
        stack = []
        last_boundary = -1  # last `;`, `{` or `}`: a `{`'s header starts after it
        for i, c in enumerate(code):
            self.parent[i] = stack[-1] if stack else -1
            if c in OPENERS:
                if c == "{":
                    header = code[last_boundary + 1 : i]
                    enclosing_test = any(self.block_test.get(s, False) for s in stack if code[s] == "{")
                    self.block_test[i] = enclosing_test or is_test_attr_text(header)
                    self.block_trait_impl[i] = is_trait_impl_header(header)
                    last_boundary = i
                stack.append(i)
            elif c in CLOSERS:
                if stack and code[stack[-1]] == CLOSERS[c]:
                    self.match[stack.pop()] = i
                # An unbalanced closer (only in broken code): ignore it.
                if c == "}":
                    last_boundary = i
            elif c == ";":
                last_boundary = i

    def in_test(self, index):
        """Is `index` inside a block of test code?"""
        p = self.parent[index] if index < len(self.parent) else -1
        while p != -1:
            if self.code[p] == "{" and self.block_test.get(p):
                return True
            p = self.parent[p]
        return False

    def innermost_brace(self, index):
        p = self.parent[index]
        while p != -1 and self.code[p] != "{":
            p = self.parent[p]
        return p


RAW_STRING_RE = re.compile(r'(?:r|br|cr)(#*)"')


def token_end(text, i, after_ident):
    """If a comment or a string or char literal starts at `i`: (its end, is it a comment).
    Otherwise None. `after_ident`: the previous character belongs to an identifier (so an
    `r"` there is not a raw string)."""
    n = len(text)
    c = text[i]
    if text.startswith("//", i):
        j = text.find("\n", i)
        return (n if j == -1 else j), True
    if text.startswith("/*", i):
        depth, j = 1, i + 2
        while j < n and depth:
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
            else:
                j += 1
        return j, True
    m = RAW_STRING_RE.match(text, i) if not after_ident and c in "rbc" else None
    if m:  # r"..", r#".."#, br#".."#, cr#".."#
        end = text.find('"' + m.group(1), m.end())
        return (n if end == -1 else end + 1 + len(m.group(1))), False
    if c == '"':
        j = i + 1
        while j < n and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        return min(j + 1, n), False
    if c == "'":
        # A char literal ('a', '\n', '\u{1F600}'), else a lifetime or label ('a, 'static).
        if i + 1 < n and text[i + 1] == "\\":
            j = text.find("'", i + 3)  # past the escaped character: '\'' works
            return (n if j == -1 else j + 1), False
        if i + 2 < n and text[i + 2] == "'":
            return i + 3, False
    return None


def lex(text):
    out = list(text)
    comments = [""] * (text.count("\n") + 1)
    line = 0
    i = 0
    after_ident = False
    while i < len(text):
        token = token_end(text, i, after_ident)
        if token is None:
            if text[i] == "\n":
                line += 1
            after_ident = text[i].isalnum() or text[i] == "_"
            i += 1
            continue
        j, is_comment = token
        start, ln = i, line
        for k in range(i, j):
            if text[k] == "\n":
                if is_comment:
                    comments[ln] += text[start:k]
                ln, start = ln + 1, k + 1
            else:
                out[k] = " "
        if is_comment:
            comments[ln] += text[start:j]
        line, i, after_ident = ln, j, False
    return "".join(out), comments


# --------------------------------------------------------------------------------------
# Attributes and headers.


def split_top(text, open_="(", close=")"):
    """Splits `a, all(b, c), d` at the commas outside brackets; drops empty parts."""
    parts, depth, cur = [], 0, ""
    for c in text:
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def cfg_is_test_only(pred):
    """`test`, `doctest`, or `all(..., test, ...)`: code that only test builds compile."""
    pred = re.sub(r"\s+", "", pred)
    if pred in ("test", "doctest"):
        return True
    m = re.fullmatch(r"all\((.*)\)", pred)
    return bool(m) and any(cfg_is_test_only(p) for p in split_top(m.group(1)))


ATTR_RE = re.compile(r"#\s*\[")


def attribute_spans(header):
    """(start, end) of every attribute `#[...]` in an item header."""
    spans = []
    for m in ATTR_RE.finditer(header):
        if spans and m.start() < spans[-1][1]:
            continue  # inside the previous attribute
        depth, j = 1, m.end()
        while j < len(header) and depth:
            if header[j] == "[":
                depth += 1
            elif header[j] == "]":
                depth -= 1
            j += 1
        spans.append((m.start(), j))
    return spans


def attributes(header):
    """The attributes' inner texts in an item header (`#[cfg(test)]` -> `cfg(test)`)."""
    return [ATTR_RE.sub("", header[a:b], count=1)[:-1] for a, b in attribute_spans(header)]


def is_test_attr_text(header):
    for attr in attributes(header):
        attr = attr.strip()
        if attr == "test":
            return True
        m = re.fullmatch(r"cfg\s*\((.*)\)", attr, re.S)
        if m and cfg_is_test_only(m.group(1)):
            return True
    return False


def strip_attributes(header):
    out, i = "", 0
    for a, b in attribute_spans(header):
        out += header[i:a]
        i = b
    return out + header[i:]


def is_trait_impl_header(header):
    h = strip_attributes(header)
    return bool(re.match(r"\s*(unsafe\s+)?impl\b", h)) and bool(re.search(r"\bfor\b(?!\s*<)", h))


# --------------------------------------------------------------------------------------
# The crate's library files: the module tree from src/lib.rs.

MOD_DECL_RE = re.compile(r"\bmod\s+([A-Za-z_]\w*)\s*;")


def crate_files(crate_dir):
    """Yields (Source, module path, is test file) for every file reachable from lib.rs."""
    lib = os.path.join(crate_dir, "src", "lib.rs")
    if not os.path.isfile(lib):
        raise SystemExit(f"conventions.py: {lib}: no such file (is {crate_dir} a library crate?)")
    todo = [(lib, (), False)]
    seen = set()
    while todo:
        path, modpath, test = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        src = Source(path)
        yield src, modpath, test
        base = os.path.basename(path)
        here = os.path.dirname(path)
        if base not in ("lib.rs", "mod.rs"):
            here = os.path.join(here, base[:-3])
        for m in MOD_DECL_RE.finditer(src.code):
            if src.innermost_brace(m.start()) != -1:
                continue  # `mod x;` inside an inline module: not used in weft, skipped
            name = m.group(1)
            header = item_header(src.code, m.start())
            path_attr = re.search(r'#\s*\[\s*path\s*=', header)
            if path_attr:
                raise SystemExit(f"conventions.py: {path}: #[path] on `mod {name}` is not supported")
            child_test = test or is_test_attr_text(header)
            for candidate in (os.path.join(here, name + ".rs"), os.path.join(here, name, "mod.rs")):
                if os.path.isfile(candidate):
                    todo.append((candidate, modpath + (name,), child_test))
                    break


def item_header(code, index):
    """The text from the previous `;`, `{` or `}` up to `index` (attributes included)."""
    j = index - 1
    while j >= 0 and code[j] not in ";{}":
        j -= 1
    return code[j + 1 : index]


def rel(path):
    return os.path.relpath(path)


# --------------------------------------------------------------------------------------
# Atomic operations and their ORDERING comments.

ORDERING_COMMENT_RE = re.compile(r"//.*\bORDERING:\s*\S")


def ordering_names(src):
    """What a file's `use` items make of orderings: the names that stand for atomic
    `Ordering` (`Ordering`, or an alias: `use ...atomic::Ordering as AtomicOrdering`), and
    the names that stand for one ordering alone (`use ...Ordering::SeqCst`,
    `Ordering::{Acquire as Acq}`, `Ordering::*`)."""
    enums, bare = {"Ordering"}, set()
    for m in re.finditer(r"\buse\b([^;]*);", src.code):
        for path in flatten_use(m.group(1)):
            path, _, alias = path.partition(" as ")
            parts = [p.strip() for p in path.split("::")]
            if parts[-1] == "Ordering" and "cmp" not in parts and alias.strip():
                enums.add(alias.strip())
            elif len(parts) >= 2 and parts[-2] == "Ordering" and "cmp" not in parts:
                if parts[-1] == "*":
                    bare.update(ORDERINGS)
                elif parts[-1] in ORDERINGS:
                    bare.add(alias.strip() or parts[-1])
    return enums, bare


def flatten_use(tree):
    """`std::sync::{atomic::{AtomicBool, Ordering}, Arc}` -> ['std::sync::atomic::AtomicBool',
    'std::sync::atomic::Ordering', 'std::sync::Arc']."""
    tree = re.sub(r"\s+", " ", tree).strip()
    tree = re.sub(r"\s*::\s*", "::", tree)
    out = []

    def walk(prefix, t):
        t = t.strip()
        if not t:
            return
        k = t.find("{")
        if k == -1:
            out.append(prefix + t)
            return
        head = t[:k]
        body = t[k + 1 : t.rfind("}")]
        for part in split_top(body, "{", "}"):
            walk(prefix + head, part)

    walk("", tree.lstrip(":"))
    return out


def prev_nonspace(code, i):
    while i >= 0 and code[i].isspace():
        i -= 1
    return i


def next_nonspace(code, i):
    while i < len(code) and code[i].isspace():
        i += 1
    return i


def ident_start(code, end):
    """Start of the identifier whose last character is at `end` (`end + 1` if none)."""
    while end >= 0 and (code[end].isalnum() or code[end] == "_"):
        end -= 1
    return end + 1


def before_path_sep(code, j):
    """If `code[j]` ends a `::` (spaces allowed before it), the offset of the last
    non-space character before that `::`; else None."""
    if j >= 1 and code[j] == ":" and code[j - 1] == ":":
        return prev_nonspace(code, j - 2)
    return None


def path_start(code, i):
    """Walks back from an identifier at `i` over `seg::` prefixes; returns (start, segments)."""
    segments = []
    start = i
    while True:
        end = before_path_sep(code, prev_nonspace(code, start - 1))
        if end is None:
            return start, segments
        k = ident_start(code, end)
        if k > end:
            return start, segments  # `::` without a segment before it (a leading `::`)
        segments.insert(0, code[k : end + 1])
        start = k


def callee(code, open_paren):
    """(name, offset of the name) of the call whose `(` is at `open_paren`, or None when
    it is not a function or method call (a tuple, a macro, a keyword, a constructor)."""
    j = prev_nonspace(code, open_paren - 1)
    if j >= 0 and code[j] == ">":  # turbofish: name::<T>(
        depth = 0
        while j >= 0:
            if code[j] == ">":
                depth += 1
            elif code[j] == "<":
                depth -= 1
                if depth == 0:
                    break
            j -= 1
        j = prev_nonspace(code, j - 1)
        end = before_path_sep(code, j)
        j = j if end is None else end
    k = ident_start(code, j)
    name = code[k : j + 1]
    if not name or name[0].isdigit() or name in KEYWORDS or name[0].isupper():
        return None
    return name, k


def statement_start(code, index):
    """Offset of the first character of the statement or expression `index` is in."""
    depth = 0
    j = index - 1
    while j >= 0:
        c = code[j]
        if c in ")]":
            depth += 1
        elif c in "([":
            if depth == 0:
                break
            depth -= 1
        elif c == "}" and depth == 0:
            break
        elif c == "}":
            depth += 1
        elif c == "{":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (c in ";," or (c == ">" and j > 0 and code[j - 1] == "=")):
            break
        j -= 1
    return next_nonspace(code, j + 1)


def comment_block_above(src, line):
    """Comment text of the comment-only lines directly above `line` (attribute-only lines
    may sit between)."""
    text = []
    ln = line - 1
    while ln >= 0:
        code = src.code_lines[ln].strip()
        if src.comment_only(ln):
            text.append(src.comments[ln])
        elif code.startswith("#[") and code.endswith("]"):
            pass
        else:
            break
        ln -= 1
    return text


def atomic_operations(src):
    """Yields (line of the method name, name, has ORDERING comment) for each atomic
    operation of a file's non-test code."""
    code = src.code
    enums, bare = ordering_names(src)
    calls = {}
    for m in re.finditer(r"\b(" + "|".join(sorted(set(ORDERINGS) | bare)) + r")\b", code):
        name = m.group(1)
        after = next_nonspace(code, m.end())
        if code.startswith("::", after) or (after < len(code) and code[after] in "({"):
            continue  # `Release::Last`, `Acquire(..)`: not an ordering
        start, segments = path_start(code, m.start())
        if segments:
            if segments[-1] not in enums or name not in ORDERINGS:
                continue
        else:
            if name not in bare:
                continue
            before = prev_nonspace(code, start - 1)
            if before < 0 or code[before] not in "(," or after >= len(code) or code[after] not in "),":
                continue  # a bare name counts only as a whole argument
        opener = src.parent[m.start()]
        if opener == -1 or code[opener] != "(":
            continue
        if re.match(r"\s*(pub\s*(\([^)]*\))?\s*)?use\b", strip_attributes(item_header(code, opener))):
            continue
        who = callee(code, opener)
        if who is None:
            continue
        calls.setdefault(opener, who)
    for opener, (name, name_at) in sorted(calls.items()):
        if src.in_test(opener):
            continue
        name_line = src.line_of(name_at)
        first_line = src.line_of(statement_start(code, name_at))
        last_line = src.line_of(src.match.get(opener, opener))
        places = [src.comments[ln] for ln in range(name_line, last_line + 1)]
        places.append(src.comments[first_line])
        places += comment_block_above(src, first_line)
        places += comment_block_above(src, name_line)
        ok = any(ORDERING_COMMENT_RE.search(text) for text in places)
        yield name_line, name, ok


UNSAFE_FN_RE = re.compile(r"\bunsafe\s+(?:extern\s+)?fn\s+([A-Za-z_]\w*)")
SAFETY_DOC_RE = re.compile(r"^\s*///\s*#+\s*Safety\b")


def unsafe_fns(src):
    """Yields (line, name, has `# Safety`) for each `unsafe fn` item outside test code and
    trait impls."""
    for m in UNSAFE_FN_RE.finditer(src.code):
        if src.in_test(m.start()):
            continue
        brace = src.innermost_brace(m.start())
        if brace != -1 and src.block_trait_impl.get(brace):
            continue
        if is_test_attr_text(item_header(src.code, m.start())):
            continue
        line = src.line_of(m.start())
        docs = comment_block_above(src, line)
        ok = any(SAFETY_DOC_RE.match(d) for d in docs)
        yield line, m.group(1), ok


# --------------------------------------------------------------------------------------
# Std atomics outside the sync shim.

ATOMIC_PATH_RE = re.compile(r"\b(std|core|loom)\s*::\s*sync\s*::\s*atomic\b")


def std_atomics(src):
    """Yields (line, what) for every path to std's, core's or loom's atomics."""
    code = src.code
    reported = set()
    for m in re.finditer(r"\buse\b([^;]*);", code):
        if src.in_test(m.start()) or is_test_attr_text(item_header(code, m.start())):
            continue
        for path in flatten_use(m.group(1)):
            if re.match(r"(std|core|loom)::sync::atomic\b", path) or re.match(
                r"(std|core|loom)::sync::\*$", path
            ):
                line = src.line_of(m.start())
                reported.add(line)
                yield line, "use " + path
    for m in ATOMIC_PATH_RE.finditer(code):
        line = src.line_of(m.start())
        if line in reported or src.in_test(m.start()):
            continue
        reported.add(line)
        yield line, code[m.start() : m.end()].replace(" ", "") + "::..."


# --------------------------------------------------------------------------------------


def check(command, crate):
    """The violations of `command` ("ordering" or "std-atomics") in one crate, as
    (path, 1-based line, message), and the atomic operations found (for `list`)."""
    found, operations = [], []
    for src, modpath, test in sorted(crate_files(crate), key=lambda t: t[0].path):
        if test:
            continue
        path = rel(src.path)
        if command == "ordering":
            for line, name, ok in atomic_operations(src):
                operations.append((path, line + 1, name, ok))
                if not ok:
                    found.append((path, line + 1, f"atomic `{name}` without an `// ORDERING:` comment"))
            for line, name, ok in unsafe_fns(src):
                if not ok:
                    found.append((path, line + 1, f"`unsafe fn {name}` without a `# Safety` doc section"))
        elif modpath[:1] != ("sync",):
            for line, what in std_atomics(src):
                found.append((path, line + 1, f"`{what}` outside src/sync.rs: import atomics from `crate::sync`"))
    return found, operations


def main(argv):
    if len(argv) < 2 or argv[1] not in ("ordering", "std-atomics", "list"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    command = argv[1]
    crates = argv[2:] or DEFAULT_CRATES
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    total = 0
    for crate in crates:
        found, operations = check("ordering" if command == "list" else command, crate)
        if command == "list":
            for path, line, name, ok in operations:
                print(f"{path}:{line}: {name}" + ("" if ok else "  <- no ORDERING comment"))
            missing = sum(1 for op in operations if not op[3])
            print(f"{crate}: {len(operations)} atomic operations, {missing} without an ORDERING comment")
            continue
        for path, line, message in found:
            print(f"{path}:{line}: {message}")
        total += len(found)
    if command == "list":
        return 0
    names = ", ".join(crates)
    if total:
        print(f"conventions.py {command}: {total} violation(s) in {names}")
        return 1
    print(f"conventions.py {command}: clean in {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
