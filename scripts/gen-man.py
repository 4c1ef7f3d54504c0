#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen-man.py - netmem's man pages, generated from their one source.

  gen-man.py lib OUTDIR HEADER...    section 3: one page per NM_API function,
                                     from its kernel-doc comment in HEADER,
                                     and libnetmem(3), the index
  gen-man.py check HEADER... [--src DIR]
                                     only the checks of `lib`; writes nothing.
                                     With --src, also: every errno a public
                                     function's definition under DIR returns
                                     itself is in its doc comment
  gen-man.py cmd OUTDIR NETMEM_BIN   section 1: netmem(1), from the usage the
                                     command prints (`netmem --help` and
                                     `netmem CMD --help`)

`check` fails (exit 1, each problem on stderr as FILE:LINE; `lib` warns
and leaves those pages out, so that the build goes on) when
a public function has no doc comment, when the comment does not start with
its own name ("nm_x - what it does"), or has no "Return:" text, or names no
errno and does not say that it cannot fail ("never fails", "never sets
errno").  Every errno named in the Return: text becomes an entry of the
page's ERRORS section, with the words the comment gives it.

The pages are build output (the build runs this script); nothing here is
meant to be edited by hand: fix the header's comment instead.
"""
import errno as errno_mod
import os
import re
import subprocess
import sys

ERRNOS = {n for n in dir(errno_mod) if re.match(r'E[A-Z0-9]+$', n)}
ERRNO_RE = re.compile(r'-?\b(E[A-Z0-9]{2,})\b')
NOFAIL_RE = re.compile(r'never fails|cannot fail|never sets errno', re.I)
VERSION = os.environ.get('NM_VERSION', '')
TITLE = 'netmem Manual'


class Doc:
    pass


def die(msg):
    print('gen-man: ' + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- headers

def comment_lines(text):
    """The text of a /** */ comment, ' * ' prefixes taken off."""
    body = text[3:-2]
    out = []
    for ln in body.split('\n'):
        s = ln.strip()
        if s.startswith('*'):
            s = ln.split('*', 1)[1]
            if s.startswith(' '):
                s = s[1:]
        else:
            s = ln.strip()
        out.append(s.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def parse_header(path, problems):
    """Every NM_API function of @path with its doc comment (or None)."""
    with open(path) as f:
        src = f.read()
    funcs = []
    # Tokens in order: doc comments, other comments, NM_API declarations.
    tok = re.compile(r'/\*\*(?!/).*?\*/|/\*.*?\*/|^[ \t]*NM_API\b[^;{]*;',
                     re.S | re.M)
    pending = None      # the last doc comment and where it ended
    for m in tok.finditer(src):
        t = m.group(0)
        if t.startswith('/**'):
            pending = (t, m.end(), src.count('\n', 0, m.start()) + 1)
            continue
        if t.startswith('/*'):
            continue
        decl = t
        line = src.count('\n', 0, m.start()) + 1
        name = re.search(r'(\w+)\s*\(', decl)
        if not name:
            continue        # not a function
        name = name.group(1)
        doc = None
        if pending:
            between = src[pending[1]:m.start()]
            # Only blank lines and #defines may stand between the comment
            # and its function (nm_area_revoke's flag sits there).
            rest = [ln for ln in between.split('\n')
                    if ln.strip() and not ln.lstrip().startswith('#')]
            if not rest:
                doc = pending
        pending = None
        funcs.append(make_doc(path, line, name, decl, doc, problems))
    return funcs


def make_doc(path, line, name, decl, doc, problems):
    d = Doc()
    d.header = path
    d.name = name
    d.line = line
    # Continuation lines keep their alignment under the opening bracket.
    lines = decl.expandtabs(8).split('\n')
    cut = lines[0].index('NM_API') + len('NM_API ')
    d.proto = [lines[0][cut:].rstrip()] + \
        [ln[cut:].rstrip() if ln[:cut].strip() == '' else ln.strip()
         for ln in lines[1:]]
    d.params, d.body, d.ret, d.summary = [], [], [], ''
    d.errnos, d.ret_as = [], None
    where = '%s:%d: %s' % (path, line, name)
    if not doc:
        problems.append(where + ': no doc comment (/** %s - ... */) before it' % name)
        return d
    lines = comment_lines(doc[0])
    text = '\n'.join(lines)
    m = re.match(r'\s*(\w+)\s+-\s+', text)
    if not m or m.group(1) != name:
        problems.append(where + ': its doc comment must start "%s - "' % name)
        return d
    text = text[m.end():]
    # "Return:" may start mid-line ("... (sizeof(*info)).  Return: 0, ...").
    text = re.sub(r'[ \t]+Return:', '\nReturn:', text)
    paras, cur, kind = [], [], 'body'
    for ln in text.split('\n'):
        pm = re.match(r'@(\w+):\s*(.*)', ln)
        if pm:
            if cur:
                paras.append((kind, cur))
            kind, cur = 'param', [pm.group(1), pm.group(2)]
            continue
        if ln.startswith('Return:'):
            if cur:
                paras.append((kind, cur))
            kind, cur = 'return', [ln[len('Return:'):].strip()]
            continue
        if not ln.strip():
            if cur:
                paras.append((kind, cur))
            kind, cur = 'body', []
            continue
        # A parameter's text goes on to a blank line, as in kernel-doc.
        cur.append(ln.strip())
    if cur:
        paras.append((kind, cur))
    first = True
    for kind, p in paras:
        if kind == 'param':
            d.params.append((p[0], ' '.join(x for x in p[1:] if x)))
        elif kind == 'return':
            d.ret.append(' '.join(p))
        else:
            para = ' '.join(p)
            if first:
                # NAME: the first sentence; the rest is description.
                s = re.match(r'(.*?\.)(\s+|$)(.*)', para)
                if s and not s.group(1).endswith(('e.g.', 'i.e.')):
                    d.summary = s.group(1).rstrip('.')
                    para = s.group(3)
                else:
                    d.summary, para = para.rstrip('.'), ''
                first = False
            if para:
                d.body.append(para)
    ret = ' '.join(d.ret)
    if not ret:
        problems.append(where + ': its doc comment has no "Return:" text')
    d.errnos = errors_of(ret)
    # "Return: as nm_other ...": nm_other's errnos (resolved in cmd_lib).
    m = re.match(r'as (nm_\w+)', ret)
    d.ret_as = m.group(1) if m else None
    if ret and not d.errnos and not d.ret_as and not NOFAIL_RE.search(ret):
        problems.append(where + ': "Return:" names no errno; say which, or '
                        '"never fails" / "never sets errno"')
    return d


def strip_c_comments(s):
    return re.sub(r'/\*.*?\*/|//[^\n]*', lambda m: re.sub(r'[^\n]', ' ', m.group(0)),
                  s, flags=re.S)


def returned_errnos(srcdir):
    """{function: (file, line, {errno...})} for each NM_API definition under
    @srcdir: the errnos its own body returns (return -E..., cond ? -E... :,
    errno = E...).  What it passes on from callees is not seen here."""
    out = {}
    for root, _, files in os.walk(srcdir):
        for fn in sorted(files):
            if not fn.endswith('.c'):
                continue
            path = os.path.join(root, fn)
            with open(path) as f:
                src = strip_c_comments(f.read())
            for m in re.finditer(r'^NM_API\b[^;{]*?\b(nm_\w+)\s*\([^;{]*\)\s*\{', src, re.M):
                i, depth = m.end(), 1
                while depth and i < len(src):
                    depth += {'{': 1, '}': -1}.get(src[i], 0)
                    i += 1
                body = src[m.end():i]
                found = set(re.findall(r'return\s+-(E[A-Z0-9]+)\b', body))
                found |= set(re.findall(r'\berrno\s*=\s*(E[A-Z0-9]+)\b', body))
                found |= set(re.findall(r'\?\s*-(E[A-Z0-9]+)\s*:', body))
                found |= set(re.findall(r':\s*-(E[A-Z0-9]+)\s*;', body))
                out[m.group(1)] = (path, src.count('\n', 0, m.start()) + 1,
                                   found & ERRNOS)
    return out


def errors_of(ret):
    """[(ERRNO, what the comment says of it)] in order of mention."""
    out, seen = [], set()
    ms = [m for m in ERRNO_RE.finditer(ret) if m.group(1) in ERRNOS]
    for i, m in enumerate(ms):
        e = m.group(1)
        if e in seen:
            continue
        seen.add(e)
        if re.search(r'\bnever\s+$', ret[:m.start()]):
            continue        # "as nm_pool_put, never -EXDEV"
        rest = ret[m.end():]
        why = ''
        p = re.match(r'\s*\(', rest)
        if p:
            depth, j = 0, p.end() - 1
            for j in range(p.end() - 1, len(rest)):
                depth += {'(': 1, ')': -1}.get(rest[j], 0)
                if depth == 0:
                    break
            why = rest[p.end():j]
        else:
            nxt = ms[i + 1].start() - m.end() if i + 1 < len(ms) else len(rest)
            cut = re.search(r';|\.(\s|$)|,\s+(or\s+)?(-?E[A-Z]|the\b)', rest)
            end = min(nxt, cut.start() if cut else len(rest))
            why = rest[:end]
            why = re.sub(r'^[\s,:]*(or\s+)?', '', why).strip()
            if why in ('or', 'and'):
                why = ''
        out.append((e, why.strip() or os.strerror(getattr(errno_mod, e))))
    return out


# ---------------------------------------------------------------- roff

def esc(s):
    s = s.replace('\\', '\\e').replace('-', '\\-')
    return s


KNOWN = set()      # every documented function: set by cmd_lib


def inline(s):
    """Escape a line of comment text; @arg in italics, nm_x() in bold."""
    s = esc(s)
    s = re.sub(r'@(\w+)', r'\\fI\1\\fP', s)
    s = re.sub(r'\b(nm_\w+)\(\)', r'\\fB\1\\fP()', s)
    s = re.sub(r'(?<![\w\\])(nm_\w+)\b(?!\()',
               lambda m: '\\fB%s\\fP()' % m.group(1) if m.group(1) in KNOWN
               else m.group(1), s)
    return s


def text_line(s):
    s = inline(s)
    if s.startswith(('.', "'")):
        s = '\\&' + s
    return s


def th(name, sec, date=''):
    return '.TH %s %s "%s" "netmem %s" "%s"\n' % (name.upper(), sec, date,
                                                  VERSION, TITLE)


TYPES = {}         # "struct nm_x" / "enum nm_x" -> its definition's lines
OVERVIEW = {}      # "netmem/x.h" -> its file-top comment's paragraphs


def parse_types(path):
    """The struct and enum definitions of @path, as written (comments too),
    and its file-top comment, for libnetmem(3)."""
    with open(path) as f:
        src = f.read()
    m = re.search(r'/\*\n(.*?)\*/', src, re.S)
    if m:
        lines = [re.sub(r'^ \* ?', '', ln) for ln in m.group(1).split('\n')]
        OVERVIEW['netmem/' + os.path.basename(path)] = lines
    for m in re.finditer(r'^((struct|enum) (nm_\w+) \{.*?^\};)', src, re.S | re.M):
        TYPES['%s %s' % (m.group(2), m.group(3))] = \
            [ln.rstrip() for ln in m.group(1).expandtabs(8).split('\n')]


def lib_page(d, include, all_names):
    o = [th(d.name, 3)]
    o.append('.SH NAME\n%s \\- %s\n' % (esc(d.name), inline(d.summary)))
    o.append('.SH SYNOPSIS\n.nf\n.B #include <%s>\n.PP\n' % include)
    for ln in d.proto:
        o.append('.B "%s"\n' % esc(ln).replace('"', '\\(dq'))
    # The definitions of the structs and enums it takes, as liburing's
    # pages show theirs (the opaque ones have none).
    for t in dict.fromkeys(re.findall(r'\b((?:struct|enum) nm_\w+)', ' '.join(d.proto))):
        if t in TYPES:
            o.append('.PP\n')
            for ln in TYPES[t]:
                o.append('\\&%s\n' % esc(ln))
    o.append('.fi\n')
    o.append('.SH DESCRIPTION\n')
    if d.params:
        for p, t in d.params:
            o.append('.TP\n.I %s\n%s\n' % (p, text_line(t)))
        o.append('.PP\n')
    body = d.body or [d.summary[:1].upper() + d.summary[1:] + '.']
    for i, p in enumerate(body):
        o.append('%s%s\n' % ('.PP\n' if i else '', text_line(p)))
    ret = ' '.join(d.ret)
    o.append('.SH RETURN VALUE\n%s\n' % text_line(ret[:1].upper() + ret[1:]))
    o.append('.SH ERRORS\n')
    if d.errnos:
        for e, why in d.errnos:
            o.append('.TP\n.B %s\n%s\n' % (e, text_line(why)))
    else:
        o.append('None: %s does not fail.\n' % esc(d.name))
    mention = []
    for t in [d.summary] + d.body + d.ret + [t for _, t in d.params]:
        for n in re.findall(r'\b(nm_\w+)', t):
            if n != d.name and n in all_names and n not in mention:
                mention.append(n)
    o.append('.SH SEE ALSO\n')
    refs = ['.BR %s (3)' % n for n in mention] + ['.BR libnetmem (3)']
    o.append(',\n'.join(refs) + '\n')
    return ''.join(o)


def overview(include):
    """A header's top comment: prose filled, indented blocks kept as they are."""
    lines = OVERVIEW.get(include, [])
    if lines and re.match(r'\S+\.h - ', lines[0]):
        lines = [re.sub(r'^\S+\.h - ', '', lines[0])] + lines[1:]
    o, verbatim = [], False
    for ln in lines + ['']:
        if ln.startswith('  ') and ln.strip():
            if not verbatim:
                o.append('.PP\n.nf\n')
                verbatim = True
            o.append('\\&%s\n' % esc(ln))
            continue
        if verbatim:
            o.append('.fi\n')
            verbatim = False
        if not ln.strip():
            o.append('.PP\n')
        else:
            o.append(text_line(ln) + '\n')
    return re.sub(r'(\.PP\n)+', '.PP\n', ''.join(o))


def index_page(docs):
    o = [th('libnetmem', 3)]
    o.append('.SH NAME\nlibnetmem \\- receive network data into pooled buffers '
             'of memory the program chooses\n')
    o.append('.SH SYNOPSIS\n.nf\n')
    for h in ['netmem/netmem.h', 'netmem/rx.h', 'netmem/provider.h', 'netmem/cuda.h']:
        if h in {d.include for d in docs}:
            o.append('.B #include <%s>\n' % h)
    o.append('.PP\n.B cc ... $(pkg\\-config \\-\\-cflags \\-\\-libs netmem)\n')
    o.append('.B find_package(netmem)  # CMake: netmem::netmem, netmem::netmem_static\n.fi\n')
    o.append('.SH DESCRIPTION\n'
             'Functions that return an int return 0 (or a count) on success and '
             'a negative errno on failure; constructors return NULL and set\n'
             '.IR errno .\n'
             'Each header says what it is for (below, from its top comment), '
             'and each function has a page of its own.\n')
    # The user's header first, then as a reader goes on.
    order = ['netmem/netmem.h', 'netmem/rx.h', 'netmem/provider.h', 'netmem/cuda.h']
    rank = {h: i for i, h in enumerate(order)}
    docs = sorted(docs, key=lambda d: rank.get(d.include, len(order)))
    cur = None
    for d in docs:
        if d.include != cur:
            cur = d.include
            o.append('.SS <%s>\n' % cur)
            o.append(overview(cur))
            o.append('.PP\nFunctions:\n')
        o.append('.TP\n.BR %s (3)\n%s\n' % (d.name, text_line(d.summary)))
    o.append('.SH SEE ALSO\n.BR netmem (1)\n')
    return ''.join(o)


def cmd_lib(outdir, headers, check_only, srcdir=None):
    problems, docs = [], []
    for h in headers:
        parse_types(h)
    for h in headers:
        inc = 'netmem/' + os.path.basename(h)
        for d in parse_header(h, problems):
            d.include = inc
            docs.append(d)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        msg = '%d public function(s) without a complete doc comment' % len(problems)
        if check_only:
            die(msg)
        # The build goes on (others' work in progress should not stop it);
        # tests/test_man_pages.c runs `check`, which fails on these.
        print('gen-man: warning: ' + msg + '; their pages are missing',
              file=sys.stderr)
        docs = [d for d in docs if d.summary and d.ret]
    if not docs:
        die('no NM_API function found in ' + ' '.join(headers))
    byname = {d.name: d for d in docs}
    for d in docs:
        if d.ret_as and d.ret_as in byname and byname[d.ret_as].ret_as:
            die('%s: "Return: as %s", which is itself "as ..."' % (d.name, d.ret_as))
    for d in docs:
        if d.ret_as:
            if d.ret_as not in byname:
                die('%s:%d: %s: "Return: as %s": no such function'
                    % (d.header, d.line, d.name, d.ret_as))
            never = set(re.findall(r'never\s+-?(E[A-Z0-9]+)', ' '.join(d.ret)))
            own = {e for e, _ in d.errnos}
            d.errnos += [(e, w) for e, w in byname[d.ret_as].errnos
                         if e not in never and e not in own]
    if check_only:
        if srcdir:
            bad = 0
            for name, (path, line, found) in sorted(returned_errnos(srcdir).items()):
                if name not in byname:
                    continue
                miss = found - {e for e, _ in byname[name].errnos}
                if miss:
                    bad += 1
                    print('%s:%d: %s returns %s, which its doc comment (%s) does not name'
                          % (path, line, name, ', '.join(sorted(miss)),
                             byname[name].header), file=sys.stderr)
            if bad:
                die('%d function(s) return an errno their doc comment does not name' % bad)
        print('gen-man: %d functions documented' % len(docs))
        return
    names = {d.name for d in docs}
    KNOWN.update(names)
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):        # pages of functions that are gone
        if f.endswith('.3') and f[:-2] not in names and f != 'libnetmem.3':
            os.remove(os.path.join(outdir, f))
    for d in docs:
        write(os.path.join(outdir, d.name + '.3'), lib_page(d, d.include, names))
    write(os.path.join(outdir, 'libnetmem.3'), index_page(docs))


def write(path, text):
    # Rewrite only when changed, so the build does not redo what follows.
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.replace(path + '.tmp', path)


# ---------------------------------------------------------------- netmem(1)

def help_of(binary, args):
    """What `netmem ARGS --help` prints, from its "usage:" line on."""
    env = dict(os.environ, ASAN_OPTIONS='detect_leaks=0')
    p = subprocess.run([binary] + args + ['--help'], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=30, env=env)
    lines = p.stdout.rstrip('\n').split('\n')
    for i, ln in enumerate(lines):
        if ln.lower().startswith('usage:'):
            return lines[i:]
    if not args:
        # A build whose command cannot run here (a sanitizer the kernel
        # refuses, say) goes on without netmem(1); test_man_pages fails.
        print('gen-man: warning: `%s --help` printed no "usage:" line (exit %d); '
              'no netmem(1)' % (binary, p.returncode), file=sys.stderr)
        sys.exit(0)
    return None         # a command without options: the top usage says it


OPT_RE = re.compile(r'^\s{1,8}(-[^ ].*?)(\s{2,}|$)(.*)$')


def render_help(lines):
    """A usage block: synopsis lines as they are, option lines as .TP."""
    o, i = [], 0
    syn = [lines[0]]
    i = 1
    while i < len(lines) and lines[i].startswith(' ') and \
            not OPT_RE.match(lines[i]) and lines[i].strip():
        syn.append(lines[i])
        i += 1
    o.append('.nf\n')
    for k, s in enumerate(syn):
        if k == 0:
            s = re.sub(r'^usage:\s*', '', s, flags=re.I)
        else:
            s = re.sub(r'^ {7}', '', s)     # as far left as "usage: " was
        o.append('%s\n' % text_line(s.rstrip()).replace('\\&', '\\&', 1))
    o.append('.fi\n')
    item, para = None, False
    for ln in lines[i:]:
        m = OPT_RE.match(ln)
        if m:
            if item:
                o.append(item)
            desc = m.group(3).strip()
            item = '.TP\n.B %s\n%s' % (esc(m.group(1).strip()),
                                       text_line(desc) + '\n' if desc else '')
        elif item and ln.strip() and ln[0] == ' ':
            item += text_line(ln.strip()) + '\n'     # the option's text goes on
        elif ln.strip():
            # Prose after the options (or between): one paragraph per run
            # of lines.
            if item:
                o.append(item)
                item, para = None, False
            if not para:
                o.append('.PP\n')
            o.append('%s\n' % text_line(ln.strip()))
            para = True
            continue
        para = False
    if item:
        o.append(item)
    return ''.join(o)


def subcommands(top):
    """Command words from the top usage: "  rx ...", "  bench pool|rx|gpu"."""
    cmds = []
    for ln in top[1:]:
        m = re.match(r'^  (\w[\w-]*)(?:\s+(\w+(?:\|\w+)+))?', ln)
        if not m or m.group(1) in ('version', 'help'):
            continue
        if m.group(2):
            cmds += [[m.group(1), s] for s in m.group(2).split('|')]
        else:
            cmds.append([m.group(1)])
    return cmds


def cmd_cmd(outdir, binary):
    top = help_of(binary, [])
    o = [th('netmem', 1), '.ad l\n']      # usage text has long unbreakable words
    o.append('.SH NAME\nnetmem \\- receive network data into pooled buffers; '
             'send test streams; probe; benchmark\n')
    o.append('.SH SYNOPSIS\n')
    o.append(render_help(top))
    o.append('.SH DESCRIPTION\n'
             '.B netmem\n'
             'is the command of libnetmem.  Each command below prints this '
             'same usage with\n.BR \\-\\-help .\n'
             'Exit status: 0; 1 when something failed at run time; '
             '2 for bad arguments.\n')
    o.append('.SH COMMANDS\n')
    for c in subcommands(top):
        # A command that takes no --help prints the top usage: skip it.
        lines = help_of(binary, c)
        if not lines or lines == top:
            continue
        o.append('.SS netmem %s\n' % ' '.join(c))
        o.append(render_help(lines))
    o.append('.SH SEE ALSO\n.BR libnetmem (3)\n')
    os.makedirs(outdir, exist_ok=True)
    write(os.path.join(outdir, 'netmem.1'), ''.join(o))


def main(argv):
    if len(argv) >= 3 and argv[1] == 'check':
        args, srcdir = argv[2:], None
        if '--src' in args:
            k = args.index('--src')
            srcdir = args[k + 1] if k + 1 < len(args) else die('--src: a folder')
            del args[k:k + 2]
        cmd_lib(None, args, True, srcdir)
    elif len(argv) >= 4 and argv[1] == 'lib':
        cmd_lib(argv[2], argv[3:], False)
    elif len(argv) == 4 and argv[1] == 'cmd':
        cmd_cmd(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main(sys.argv)
