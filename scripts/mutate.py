#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
mutate.py - mutation testing of src/ against the test suite.

Each entry of tests/mutations.txt is a one-line bug a person could write
(a dropped bounds check, an off-by-one, a wrong errno, a counter skipped,
a missing release): a file, a text found exactly once in it, what it is
replaced with, and what the bug is.  For each one this script applies the
mutation to a COPY of the tree (build-mut/tree: the tracked and untracked,
not ignored, files of the working tree; src/ itself is never touched),
rebuilds incrementally, and runs the suite with a timeout per test until
the first failure.  A mutation some test fails on is KILLED; one the whole
suite passes SURVIVED (a hole in the tests, or a mutation that changes
nothing a caller can see); one that does not compile is INVALID (replace
it: it is not a bug anyone would ship).

  scripts/mutate.py                 every mutation; table, then the ratio
  scripts/mutate.py --filter pool   those whose id, file or text matches
  scripts/mutate.py --check         only check that each entry still applies
                                    (its text is found exactly once)
  scripts/mutate.py --list          the entries

Exit status: 0 when the kill ratio is at least --min (90 %) and no entry
is stale or invalid; 1 otherwise; 2 for bad usage or a tree that does not
build or pass unmutated.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "tests", "mutations.txt")
FIELDS = ("id", "file", "find", "repl", "bug")
# Tests that are no judge of a mutation: the list's own check reads the
# mutated tree (and would "kill" everything).
# Nor are the packaging tests (install, CMake package, man pages, the
# Makefile's own failure): they build and install other trees, cost most
# of a run, and no src/ bug reaches them that the rest does not see.
EXCLUDE = re.compile(r"^test_(mutations_list|install.*|cmake_package|make_build_fails"
                     r"|man_.*|cli_usage|bench_plot)$")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"n": "\n", "t": "\t", "\\": "\\"}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse(path):
    """Entries of the list, each a dict of FIELDS plus 'where' (line)."""
    entries, cur, errors = [], None, []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, line in enumerate(lines + [""], 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                entries.append(cur)
                cur = None
            continue
        m = re.match(r"^(\w+):\s?(.*)$", line)
        if not m or m.group(1) not in FIELDS:
            errors.append("%s:%d: not 'field: value' (fields: %s)"
                          % (path, no, ", ".join(FIELDS)))
            continue
        if cur is None:
            cur = {"where": no}
        k, v = m.group(1), m.group(2).strip()
        if k in cur:
            errors.append("%s:%d: %s given twice" % (path, no, k))
        cur[k] = unescape(v) if k in ("find", "repl") else v
    seen = set()
    for e in entries:
        for k in FIELDS:
            if k not in e:
                errors.append("%s:%d: entry without %s" % (path, e["where"], k))
        if e.get("id") in seen:
            errors.append("%s:%d: id %s used twice" % (path, e["where"], e.get("id")))
        seen.add(e.get("id"))
        if e.get("find") == e.get("repl"):
            errors.append("%s:%d: %s: repl is find" % (path, e["where"], e.get("id")))
    return entries, errors


def locate(text, e):
    """(count, line number of the first match) of e's text in a file."""
    n = text.count(e["find"])
    i = text.find(e["find"])
    return n, (text.count("\n", 0, i) + 1 if i >= 0 else 0)


def check(entries, root, quiet=False):
    """Problems with entries against the sources under root."""
    problems = []
    for e in entries:
        p = os.path.join(root, e["file"])
        if not os.path.isfile(p):
            problems.append("%s: no file %s" % (e["id"], e["file"]))
            continue
        with open(p, encoding="utf-8") as f:
            n, _ = locate(f.read(), e)
        if n != 1:
            problems.append("%s: its find text is in %s %d times, not once: "
                            "update tests/mutations.txt (the code changed)"
                            % (e["id"], e["file"], n))
    return problems


def coverage(entries, root):
    files = []
    for d, _, names in os.walk(os.path.join(root, "src")):
        for n in names:
            if n.endswith(".c") or n == "ring.h":
                files.append(os.path.relpath(os.path.join(d, n), root))
    have = {e["file"] for e in entries}
    return sorted(f for f in files if f not in have)


# ---------------------------------------------------------------- the copy

def tree_files():
    out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"],
                         cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout
    return [f for f in out.decode().split("\0")
            if f and os.path.isfile(os.path.join(ROOT, f))]


def sync_tree(tree):
    """Make tree's files those of the working tree; write only what differs,
    so the build that follows is incremental (and sees the change)."""
    files = tree_files()
    keep = set(files)
    changed = 0
    for f in files:
        src, dst = os.path.join(ROOT, f), os.path.join(tree, f)
        with open(src, "rb") as fh:
            data = fh.read()
        try:
            with open(dst, "rb") as fh:
                same = fh.read() == data
        except OSError:
            same = False
        if not same:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as fh:
                fh.write(data)
            shutil.copymode(src, dst)
            changed += 1
    for d, dirs, names in os.walk(tree):
        rel = os.path.relpath(d, tree)
        if rel == "build" or rel.startswith("build" + os.sep):
            dirs[:] = []
            continue
        for n in names:
            r = os.path.normpath(os.path.join(rel, n))
            if r not in keep:
                os.unlink(os.path.join(d, n))
    return changed


# What a mutation rebuilds before any test runs: the library and the
# command (the CLI tests run it).  Each test program is relinked only when
# it is about to run, so a mutation the first tests kill costs a few links,
# not sixty.
LIB_TARGETS = ["netmem_static", "netmem", "netmem_cli"]
BATCH = 16


def build(tree, jobs, targets=None, keep_going=False):
    bdir = os.path.join(tree, "build")
    if not os.path.exists(os.path.join(bdir, "CMakeCache.txt")):
        r = subprocess.run(["cmake", "-S", tree, "-B", bdir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode:
            return r.returncode, r.stdout.decode(errors="replace")
    cmd = ["nice", "-n", "10", "cmake", "--build", bdir, "-j", str(jobs)]
    for t in targets or []:
        cmd += ["--target", t]
    if keep_going:
        cmd += ["--", "-k"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode, r.stdout.decode(errors="replace")


def first_error(log):
    for line in log.splitlines():
        if "error" in line:
            return line.strip()[:160]
    return log.strip().splitlines()[-1][:160] if log.strip() else "?"


# ---------------------------------------------------------------- the suite

def run_test(tree, name, tmo, log=None):
    """(status, seconds): status 0 pass, 77 skip, else fail (124: timeout).
    With @log, the test's output goes to that file."""
    path = os.path.join(tree, "build", "tests", name)
    t0 = time.time()
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        p = subprocess.Popen([path], cwd=tree, stdout=out,
                             stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                             start_new_session=True)
    finally:
        if log:
            out.close()
    try:
        rc = p.wait(timeout=tmo)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        rc = 124
    try:  # a test's leftover children (a sender, a CLI) go with it
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    return rc, time.time() - t0


def list_tests(tree, only=None):
    if only:  # by source: the programs may not be built yet
        return sorted(n[:-2] for n in os.listdir(os.path.join(tree, "tests"))
                      if n.startswith("test_") and n.endswith(".c")
                      and re.search(only, n[:-2]) and not EXCLUDE.match(n[:-2]))
    d = os.path.join(tree, "build", "tests")
    # Only programs whose source is still in the tree: a test deleted
    # since an earlier run leaves its binary behind, and no target.
    return sorted(n for n in os.listdir(d)
                  if n.startswith("test_") and os.access(os.path.join(d, n), os.X_OK)
                  and os.path.isfile(os.path.join(tree, "tests", n + ".c"))
                  and not EXCLUDE.match(n))


def baseline(tree, verbose, only=None):
    """Run every test once unmutated: {name: seconds} of those that pass,
    and the names that fail (they cannot judge a mutation)."""
    times, bad = {}, []
    names = list_tests(tree, only)
    if build(tree, 2, names)[0]:
        ok = [n for n in names if not build(tree, 2, [n])[0]]
        print("== tests that do not build unmutated, left out: %s"
              % " ".join(sorted(set(names) - set(ok))), flush=True)
        names = ok
    for n in names:
        rc, secs = run_test(tree, n, 300)
        if rc == 0:
            times[n] = secs
        elif rc != 77:
            # Broken, or flaky: either way its failure would say nothing
            # about a mutation.
            bad.append(n)
        if verbose or rc not in (0, 77):
            print("  baseline %-34s %5.1fs exit %d" % (n, secs, rc), flush=True)
    return times, bad


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="only check that every entry applies, exactly once")
    ap.add_argument("--list", action="store_true", help="print the entries")
    ap.add_argument("--filter", default=os.environ.get("MUTATE_FILTER", ""),
                    help="regex on id, file and bug text (env MUTATE_FILTER)")
    ap.add_argument("--min", type=float, default=90.0,
                    help="kill ratio (%%) below which the exit status is 1")
    ap.add_argument("--dir", default=os.path.join(ROOT, "build-mut"),
                    help="work folder (the copy is DIR/tree)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="least per-test timeout; it is at least 3x the "
                         "test's unmutated time, plus 10 s")
    ap.add_argument("--tests", default="",
                    help="judge by the tests matching this regex only (to see "
                         "a new test kill its mutation); builds only those")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    entries, errors = parse(LIST)
    if errors:
        print("\n".join(errors))
        return 2
    if a.filter:
        rx = re.compile(a.filter)
        entries = [e for e in entries
                   if rx.search(e["id"]) or rx.search(e["file"]) or rx.search(e["bug"])]
    if a.list:
        for e in entries:
            print("%-22s %-26s %s" % (e["id"], e["file"], e["bug"]))
        print("%d mutations" % len(entries))
        return 0
    if a.check:
        problems = check(entries, ROOT)
        for p in problems:
            print("STALE  " + p)
        missing = [] if a.filter else coverage(entries, ROOT)
        for f in missing:
            print("note: no mutation of %s" % f)
        print("%d mutations, %d stale" % (len(entries), len(problems)))
        return 1 if problems else 0
    if not entries:
        print("no mutation matches %r" % a.filter)
        return 2

    tree = os.path.join(os.path.abspath(a.dir), "tree")
    first_log = os.path.join(os.path.abspath(a.dir), "last-test.log")
    os.makedirs(tree, exist_ok=True)
    t_start = time.time()
    n = sync_tree(tree)
    print("== copy of the working tree in %s (%d files updated)" % (tree, n), flush=True)
    # Keep going: another change in progress may break an unrelated
    # target (a benchmark); what matters is the library and the tests.
    build(tree, a.jobs, LIB_TARGETS + list_tests(tree, a.tests) if a.tests else None,
          keep_going=True)
    rc, log = build(tree, a.jobs, ["netmem_static"])
    if rc:
        print(log[-3000:])
        print("== the unmutated library does not build")
        return 2
    if build(tree, a.jobs, ["netmem_cli"])[0]:
        LIB_TARGETS.remove("netmem_cli")
        print("== note: the command (netmem_cli) does not build unmutated: the CLI "
              "tests run the last one built", flush=True)
    print("== baseline: the suite, unmutated", flush=True)
    times, bad = baseline(tree, a.verbose, a.tests)
    if bad:
        print("== failing unmutated, left out as judges: %s" % " ".join(bad))
    if not times:
        print("== no test passes unmutated")
        return 2
    print("== %d tests, %.0fs in all; %d mutations" %
          (len(times), sum(times.values()), len(entries)), flush=True)

    slow = sorted(times, key=times.get, reverse=True)[:5]
    print("== slowest: " + ", ".join("%s %.1fs" % (t, times[t]) for t in slow), flush=True)
    flaky = set()
    results = []
    killers = {}  # file -> tests that killed a mutation of it, most recent first
    for i, e in enumerate(entries, 1):
        t0 = time.time()
        path = os.path.join(tree, e["file"])
        res = {"e": e, "line": 0, "status": "", "by": "", "secs": 0.0}
        results.append(res)
        try:
            with open(path, encoding="utf-8") as f:
                orig = f.read()
        except OSError:
            res["status"] = "STALE"
            res["by"] = "no such file"
        else:
            cnt, res["line"] = locate(orig, e)
            if cnt != 1:
                res["status"] = "STALE"
                res["by"] = "text found %d times" % cnt
        if not res["status"]:
            try:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(orig.replace(e["find"], e["repl"], 1))
                rc, log = build(tree, a.jobs, LIB_TARGETS)
                if rc:
                    res["status"] = "INVALID"
                    res["by"] = first_error(log)
                else:
                    # First the tests that killed mutations of this file
                    # before (only they are relinked), then, relinked all at
                    # once, the rest, quickest first.
                    first = [t for t in killers.get(e["file"], []) if t in times][:3]
                    order = first + sorted((t for t in times if t not in first),
                                           key=times.get)
                    # Relinked a batch at a time, so a kill among the
                    # first batches spares relinking the rest.
                    batches = ([first] if first else []) + \
                        [order[i:i + BATCH] for i in range(len(first), len(order), BATCH)]
                    starts, k0 = {}, 0
                    for b in batches:
                        starts[k0] = b
                        k0 += len(b)
                    for k, t in enumerate(order):
                        if k in starts:
                            rc, log = build(tree, a.jobs, starts[k])
                            if rc:
                                res["status"] = "INVALID"
                                res["by"] = first_error(log)
                                break
                        if t in flaky:
                            continue
                        tmo = max(a.timeout, 3 * times[t] + 10)
                        trc, _ = run_test(tree, t, tmo, log=first_log)
                        if trc not in (0, 77):
                            # A kill must repeat: a test that fails once
                            # under a loaded machine is not a verdict.
                            trc2, _ = run_test(tree, t, tmo)
                            if trc2 in (0, 77):
                                flaky.add(t)
                                kept = os.path.join(os.path.abspath(a.dir),
                                                    "flaky-%s-%s.log" % (t, e["id"]))
                                os.replace(first_log, kept)
                                print("  note: %s failed once and passed again: "
                                      "left out as a judge from now on (its output: %s)"
                                      % (t, kept), flush=True)
                                continue
                            res["status"] = "KILLED"
                            res["by"] = t + (" (timed out)" if trc == 124 else "")
                            k = killers.setdefault(e["file"], [])
                            if t in k:
                                k.remove(t)
                            k.insert(0, t)
                            break
                    else:
                        res["status"] = "SURVIVED"
            finally:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(orig)
        res["secs"] = time.time() - t0
        print("[%d/%d] %-22s %-9s %s  (%.0fs)" % (i, len(entries), e["id"], res["status"],
                                                   res["by"], res["secs"]), flush=True)

    # The copy's sources are the working tree's again; rebuild so the next
    # run (or a look at build-mut) starts from the unmutated objects.
    build(tree, a.jobs, LIB_TARGETS + list(times) if a.tests else None)

    print()
    print("%-22s %-30s %-9s %s" % ("id", "file:line", "result", "bug / by"))
    for r in results:
        e = r["e"]
        print("%-22s %-30s %-9s %s" % (e["id"], "%s:%d" % (e["file"], r["line"]),
                                       r["status"], e["bug"]))
        if r["by"]:
            print("%-22s %-30s %-9s   %s" % ("", "", "", ("by " if r["status"] == "KILLED"
                                                          else "") + r["by"]))
    count = {s: sum(1 for r in results if r["status"] == s)
             for s in ("KILLED", "SURVIVED", "INVALID", "STALE")}
    judged = count["KILLED"] + count["SURVIVED"]
    ratio = 100.0 * count["KILLED"] / judged if judged else 0.0
    print()
    surv = [r["e"]["id"] for r in results if r["status"] == "SURVIVED"]
    if surv:
        print("survived: " + " ".join(surv))
    for s in ("INVALID", "STALE"):
        ids = [r["e"]["id"] for r in results if r["status"] == s]
        if ids:
            print("%s (not counted; fix the list): %s" % (s.lower(), " ".join(ids)))
    if flaky or bad:
        print("left out as judges (failing or flaky unmutated): %s"
              % " ".join(sorted(set(bad) | flaky)))
    print("%d mutations: %d killed, %d survived, %d invalid, %d stale; %.0fs" %
          (len(results), count["KILLED"], count["SURVIVED"], count["INVALID"],
           count["STALE"], time.time() - t_start))
    print("kill ratio: %d/%d = %.1f%%" % (count["KILLED"], judged, ratio))
    ok = judged and ratio >= a.min and not count["INVALID"] and not count["STALE"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
