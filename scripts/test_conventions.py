#!/usr/bin/env python3
"""Tests of scripts/conventions.py: each rule on small crates written to a temporary
directory. Run: python3 scripts/test_conventions.py"""

import atexit
import os
import shutil
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conventions  # noqa: E402


class Crate:
    """A throwaway crate: files given as {"src/lib.rs": "...", ...}."""

    def __init__(self, files):
        self.path = tempfile.mkdtemp(prefix="conventions-test-")
        atexit.register(shutil.rmtree, self.path, True)
        for path, text in files.items():
            full = os.path.join(self.path, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))

    def check(self, command):
        found, _ = conventions.check(command, self.path)
        return [(os.path.relpath(p, self.path), line, msg) for p, line, msg in found]

    def operations(self):
        _, ops = conventions.check("ordering", self.path)
        return [(os.path.relpath(p, self.path), line, name, ok) for p, line, name, ok in ops]


def lib(text, **more):
    files = {"src/lib.rs": text}
    files.update({"src/" + k.replace("__", "/") + ".rs": v for k, v in more.items()})
    return Crate(files)


class AtomicOperations(unittest.TestCase):
    def test_a_load_without_a_comment_is_reported_at_its_line(self):
        crate = lib("""\
            use crate::sync::{AtomicUsize, Ordering};
            fn f(a: &AtomicUsize) -> usize {
                a.load(Ordering::Acquire)
            }
            """)
        self.assertEqual(crate.check("ordering"), [("src/lib.rs", 3, "atomic `load` without an `// ORDERING:` comment")])

    def test_a_comment_above_or_on_the_line_counts(self):
        crate = lib("""\
            fn f(a: &AtomicUsize) {
                // ORDERING: Release: publishes the write above.
                a.store(1, Ordering::Release);
                a.store(2, Ordering::Release); // ORDERING: Release, as above.
                // ORDERING: Relaxed: a counter.
                // (a second line of the explanation)
                let _ = a.fetch_add(1, Ordering::Relaxed);
            }
            """)
        self.assertEqual(crate.check("ordering"), [])
        self.assertEqual(len(crate.operations()), 3)

    def test_one_comment_covers_one_operation(self):
        crate = lib("""\
            fn f(a: &AtomicUsize) {
                // ORDERING: SeqCst RMW and fence.
                a.fetch_add(1, Ordering::SeqCst);
                fence(Ordering::SeqCst);
            }
            """)
        self.assertEqual(crate.check("ordering"), [("src/lib.rs", 4, "atomic `fence` without an `// ORDERING:` comment")])

    def test_a_multi_line_call_is_found_at_its_method_name(self):
        crate = lib("""\
            fn f(a: &AtomicUsize) {
                let _ = a.compare_exchange(
                    0,
                    1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                match a.compare_exchange_weak(
                    0,
                    1,
                    // ORDERING: AcqRel: a comment between the arguments counts.
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    _ => {}
                }
            }
            """)
        self.assertEqual(
            crate.check("ordering"),
            [("src/lib.rs", 2, "atomic `compare_exchange` without an `// ORDERING:` comment")],
        )

    def test_a_comment_above_the_statement_covers_a_call_on_a_later_line(self):
        crate = lib("""\
            fn f(a: &S) -> bool {
                // ORDERING: Acquire: pairs with the Release in `set`.
                let x = a
                    .state()
                    .fetch_xor(1, Ordering::AcqRel);
                x != 0
                    // ORDERING: Acquire, directly above the method's line.
                    && a.flag.load(Ordering::Acquire)
                    && a.other.load(Ordering::Acquire)
            }
            """)
        self.assertEqual(crate.check("ordering"), [("src/lib.rs", 9, "atomic `load` without an `// ORDERING:` comment")])

    def test_an_empty_ordering_comment_does_not_count(self):
        crate = lib("""\
            fn f(a: &AtomicUsize) {
                // ORDERING:
                a.store(1, Ordering::Release);
            }
            """)
        self.assertEqual(len(crate.check("ordering")), 1)

    def test_a_comment_separated_by_a_blank_line_does_not_count(self):
        crate = lib("""\
            fn f(a: &AtomicUsize) {
                // ORDERING: Release.

                a.store(1, Ordering::Release);
            }
            """)
        self.assertEqual(len(crate.check("ordering")), 1)

    def test_use_lines_comments_strings_macros_and_cmp_ordering_are_not_atomics(self):
        crate = lib('''\
            //! ```
            //! a.load(Ordering::SeqCst);
            //! ```
            use std::cmp::Ordering as CmpOrdering;
            use crate::sync::{AtomicUsize, Ordering::{self, SeqCst}};
            /// Docs: `a.load(Ordering::SeqCst)`.
            fn f(a: u32, b: u32) -> &'static str {
                // a.load(Ordering::Relaxed) in a comment
                /* a.store(1, Ordering::Relaxed) in a block comment */
                let _ = a.cmp(&b) == CmpOrdering::Less;
                assert_ne!(Ordering::SeqCst, Ordering::Relaxed);
                let _ = Some(Ordering::Acquire);
                let _ = '\\'';
                let _ = r#"x.load(Ordering::SeqCst)"#;
                "x.store(1, Ordering::SeqCst)"
            }
            ''')
        self.assertEqual(crate.operations(), [])

    def test_bare_names_count_when_imported_from_ordering(self):
        crate = lib("""\
            use crate::sync::{AtomicU64, Ordering::SeqCst};
            fn f(w: &AtomicU64) -> u64 {
                w.swap(1, SeqCst)
            }
            """, other="""\
            pub enum Release { Last, NotLast }
            fn g(r: Release) -> Release {
                keep(Release::Last, r)
            }
            fn h(a: &AtomicU8) {
                a.load(Acquire); // `Acquire` is not imported from Ordering here: not counted
            }
            """)
        with open(os.path.join(crate.path, "src/lib.rs"), "a") as f:
            f.write("mod other;\n")
        self.assertEqual(crate.check("ordering"), [("src/lib.rs", 3, "atomic `swap` without an `// ORDERING:` comment")])

    def test_aliases_of_ordering_and_of_its_variants_count(self):
        crate = lib("""\
            use std::cmp::Ordering;
            use crate::sync::{AtomicU8, Ordering as AtomicOrdering};
            use crate::sync::Ordering::{Acquire as Acq, Relaxed};
            fn f(a: &AtomicU8, x: u8) -> bool {
                let _ = x.cmp(&1) == Ordering::Less;
                a.load(AtomicOrdering::SeqCst);
                a.load(Acq);
                a.load(Relaxed) == 0
            }
            """)
        self.assertEqual([op[1] for op in crate.operations()], [6, 7, 8])

    def test_a_receiver_whose_name_starts_with_use_is_still_an_atomic(self):
        crate = lib("""\
            fn f(user: &AtomicUsize) -> usize {
                user.load(Ordering::Relaxed)
            }
            """)
        self.assertEqual(len(crate.check("ordering")), 1)

    def test_full_paths_count(self):
        crate = lib("""\
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            fn f() -> usize {
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            }
            fn g() {
                std::sync::atomic::fence(atomic::Ordering::SeqCst);
            }
            """)
        self.assertEqual([op[2] for op in crate.operations()], ["fetch_add", "fence"])

    def test_test_code_is_exempt(self):
        crate = lib("""\
            #[cfg(all(test, weft_loom))]
            mod loom_tests;
            #[cfg(test)]
            mod tests {
                fn f(a: &AtomicUsize) {
                    a.store(1, Ordering::SeqCst);
                }
            }
            #[cfg(all(test, not(weft_loom)))]
            impl S {
                fn f(a: &AtomicUsize) {
                    a.store(1, Ordering::SeqCst);
                }
            }
            #[test]
            fn t() {
                A.store(1, Ordering::SeqCst);
            }
            #[cfg(not(test))]
            fn production(a: &AtomicUsize) {
                a.store(1, Ordering::SeqCst);
            }
            """, loom_tests="""\
            fn f(a: &AtomicUsize) {
                a.store(1, Ordering::SeqCst);
            }
            """)
        self.assertEqual(crate.check("ordering"), [("src/lib.rs", 21, "atomic `store` without an `// ORDERING:` comment")])

    def test_module_files_are_followed(self):
        crate = lib("mod engine;\n", engine__mod="mod sleep;\n", engine__sleep="""\
            fn f(a: &AtomicUsize) {
                a.store(1, Ordering::SeqCst);
            }
            """)
        self.assertEqual(crate.check("ordering"), [("src/engine/sleep.rs", 2, "atomic `store` without an `// ORDERING:` comment")])


class UnsafeFns(unittest.TestCase):
    def test_unsafe_fns_need_a_safety_section(self):
        crate = lib("""\
            /// Frees it.
            ///
            /// # Safety
            ///
            /// `p` came from `alloc`.
            #[inline]
            pub(crate) unsafe fn documented(p: *mut u8) {}

            /// Frees it, no contract written.
            unsafe fn undocumented(p: *mut u8) {}

            unsafe fn bare() {}

            struct VTable {
                free: unsafe fn(*mut u8),
            }

            pub(crate) trait Job {
                unsafe fn execute(this: *const ());
            }

            impl Job for X {
                unsafe fn execute(this: *const ()) {}
            }

            impl X {
                pub(crate) const unsafe fn inherent(&self) {}
            }

            #[cfg(test)]
            mod tests {
                unsafe fn helper() {}
            }
            """)
        self.assertEqual(
            [(line, msg.split("`")[1]) for _, line, msg in crate.check("ordering")],
            [(10, "unsafe fn undocumented"), (12, "unsafe fn bare"), (19, "unsafe fn execute"), (27, "unsafe fn inherent")],
        )


class StdAtomics(unittest.TestCase):
    def test_std_atomics_outside_sync_rs_are_rejected(self):
        crate = lib("""\
            mod sync;
            mod a;
            use crate::sync::{AtomicUsize, Ordering};
            use std::sync::{atomic::AtomicBool, Arc};
            use core::sync::atomic;
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            fn f() {
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            #[cfg(test)]
            mod tests {
                use std::sync::atomic::AtomicBool;
            }
            """, sync="""\
            pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
            """, a="""\
            use loom::sync::atomic::AtomicUsize;
            // use std::sync::atomic::AtomicUsize; (a comment)
            """)
        self.assertEqual(
            [(p, line) for p, line, _ in crate.check("std-atomics")],
            [("src/a.rs", 1), ("src/lib.rs", 4), ("src/lib.rs", 5), ("src/lib.rs", 6), ("src/lib.rs", 8)],
        )


if __name__ == "__main__":
    unittest.main()
