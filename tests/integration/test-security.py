"""Security: what pyusdt reads from its environment and files, bounded.

- Environment values are parsed with bounds: a 100,000-byte or non-UTF-8
  PYUSDT_CHECK_MSEC or PYUSDT_VERBOSE gives one bounded warning line and
  the default.
- Installed files (make install DESTDIR=...) have sane owners and modes:
  the installer's, nothing writable by group or others, no set-id bits,
  programs and libraries 0755, data 0644, no libtool archives.
- While traced (callbacks firing, the poller switching events on and off,
  a fork), pyusdt opens no file or socket and runs no program: every
  syscall of the process is counted, per thread, by bpftrace and compared
  with the same program without pyusdt; the poller thread makes none of
  those calls at all.
- pyusdt runs no code of the program of its own accord: the program's
  builtins.__import__ sees the same imports with and without pyusdt,
  traced, and its audit hook the same events but for
  sys.monitoring.register_callback (CPython audits it; pyusdt registers its
  callbacks when a tracer attaches and detaches).
"""

import os
import stat
import subprocess
import tempfile
import time

import uprobes
from pyusdttest import (BUILDDIR, LIBRARY, PYTHON, TAP, Bpftrace, Driven,
                        parse_maps, probe, python_env, require_tracing,
                        tracing_lock, tracing_missing)

# syscalls that open files or sockets, change files, run programs or reach
# into other processes
FORBIDDEN = {
    "open", "openat", "openat2", "creat", "open_by_handle_at", "socket",
    "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "sendto", "sendmsg", "sendmmsg", "execve", "execveat", "unlink",
    "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat",
    "rmdir", "truncate", "ftruncate", "chmod", "fchmod", "fchmodat",
    "chown", "fchown", "fchownat", "ptrace", "process_vm_readv",
    "process_vm_writev", "memfd_create", "kill", "tkill", "mount",
    "symlink", "symlinkat", "link", "linkat",
}


def env_bounds(tap):
    code = ("import pyusdt; s = pyusdt.state(); "
            "print(s['check_msec'], s['verbose'])")
    for label, var, value in (
            ("100,000 digits", b"PYUSDT_CHECK_MSEC", b"9" * 100000),
            ("non-UTF-8 bytes", b"PYUSDT_CHECK_MSEC", b"\xff\xfe12"),
            ("a long non-UTF-8 run", b"PYUSDT_CHECK_MSEC", b"\xe9" * 5000),
            ("100,000 bytes", b"PYUSDT_VERBOSE", b"1" * 100000)):
        env = {os.fsencode(k): os.fsencode(v)
               for k, v in python_env().items()
               if not k.startswith("PYUSDT_")}
        env[var] = value
        proc = subprocess.run([os.fsencode(PYTHON), b"-c", code.encode()],
                              env=env, capture_output=True, timeout=60)
        lines = proc.stderr.split(b"\n")
        tap.ok(proc.returncode == 0 and proc.stdout == b"100 False\n"
               and len(lines) == 2 and lines[1] == b""
               and lines[0].startswith(b"pyusdt: ignoring %s=\"" % var)
               and len(lines[0]) <= 200,
               "%s=%s: one warning line of at most 200 bytes, default used"
               % (var.decode(), label), proc)


def installed_files(tap):
    dest = tempfile.mkdtemp(prefix="pyusdt-install.")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    proc = subprocess.run(["make", "-s", "-C", BUILDDIR, "install",
                           "DESTDIR=" + dest], env=env, capture_output=True,
                          text=True, timeout=300)
    if not tap.ok(proc.returncode == 0, "make install DESTDIR=...",
                  proc.stderr[-2000:]):
        return
    bad = []
    files = 0
    uid, gid = os.getuid(), os.getgid()
    for top, dirs, names in os.walk(dest):
        for n in dirs + names:
            p = os.path.join(top, n)
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode)
            rel = os.path.relpath(p, dest)
            if (st.st_uid, st.st_gid) != (uid, gid):
                bad.append("%s: owner %d:%d" % (rel, st.st_uid, st.st_gid))
            if mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID
                       | stat.S_ISGID | stat.S_ISVTX):
                bad.append("%s: mode %o" % (rel, mode))
            if stat.S_ISDIR(st.st_mode):
                if mode != 0o755:
                    bad.append("%s: directory mode %o" % (rel, mode))
                continue
            files += 1
            if stat.S_ISLNK(st.st_mode):
                continue
            # (the scripts for PCP's PMDA are read by it, not run)
            program = ("/bin/" in "/" + rel or n.endswith(".so")
                       or (n.endswith(".bt") and "/pcp/" not in rel))
            want = 0o755 if program else 0o644
            if mode != want:
                bad.append("%s: mode %o, want %o" % (rel, mode, want))
            if n.endswith(".la"):
                bad.append("%s: a libtool archive" % rel)
    tap.ok(files > 0 and bad == [], "installed files (%d): owned by the "
           "installer, not writable by others, no set-id bits; programs, "
           "libraries and .bt scripts 0755 (PCP's 0644), the rest 0644"
           % files, bad)
    subprocess.run(["rm", "-rf", "--one-file-system", dest])


def syscall_names():
    """{number: name} from the kernel headers, or None."""
    for h in ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
              "/usr/include/asm/unistd_64.h",
              "/usr/include/aarch64-linux-gnu/asm/unistd.h"):
        if os.path.exists(h):
            names = {}
            with open(h) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "#define" \
                            and parts[1].startswith("__NR_") \
                            and parts[2].isdigit():
                        names[int(parts[2])] = parts[1][5:]
            return names
    return None


NAMES = syscall_names()


def syscall_program(pid, usdt):
    if NAMES:
        # one tracepoint for every syscall: quick to attach
        prog = ('tracepoint:raw_syscalls:sys_enter /pid == %d/ '
                '{ @s[tid == pid ? "main" : "other", args.id] = count(); }\n'
                % pid)
    else:
        prog = ('tracepoint:syscalls:sys_enter_* /pid == %d/ '
                '{ @s[tid == pid ? "main" : "other", probe] = count(); }\n'
                % pid)
    prog += ('tracepoint:syscalls:sys_enter_openat /pid == %d/ '
             '{ @o[tid == pid ? "main" : "other", str(args.filename)] '
             '= count(); }\n' % pid)
    if usdt:
        # callbacks fire all along (PY_START is left to the perf tracer)
        prog += "\n".join("%s { @u = count(); }" % probe(p, "*")
                          for p in ("PY_RETURN", "CALL", "LINE"))
    return prog


def run_quiet(with_pyusdt):
    """The same conversation with quiet.py, with or without pyusdt,
    every syscall counted: (syscalls, opened, records, status)."""
    prog = Driven("quiet.py", ["pyusdt"] if with_pyusdt else [],
                  via_launcher=False, env=python_env(PYUSDT_CHECK_MSEC=2))
    prog.ask("hello")
    bt = Bpftrace(syscall_program(prog.pid, with_pyusdt),
                  pid=prog.pid).start()
    if with_pyusdt:
        prog.wait_state("enabled", ["PY_RETURN", "CALL", "LINE"])
    prog.ask("record")
    prog.ask("work 2000")
    # the poller switches PY_START on and off (a tracer by PID)
    for _ in range(3):
        t = uprobes.Tracer(LIBRARY, ["PY_START"], pids=[prog.pid]).attach()
        if with_pyusdt:
            prog.wait_state("enabled", ["PY_START", "PY_RETURN", "CALL",
                                        "LINE"])
        else:
            time.sleep(0.02)
        prog.ask("work 100")
        t.detach()
        if with_pyusdt:
            prog.wait_state("enabled", ["PY_RETURN", "CALL", "LINE"])
        else:
            time.sleep(0.02)
    prog.ask("fork")
    prog.ask("work 500")
    records = prog.ask("record")
    prog.ask("exit")
    status, _err = prog.finish()
    text = bt.wait(timeout=60)
    maps = parse_maps(text)
    syscalls = {}
    for (who, name), n in maps.get("s", {}).items():
        if NAMES:
            name = NAMES.get(int(name), name)
        name = name.rsplit("sys_enter_", 1)[-1]
        syscalls.setdefault(who, {})[name] = n
    return syscalls, maps.get("o", {}), records, status


def traced_behaviour(tap):
    plain = run_quiet(False)
    traced = run_quiet(True)
    tap.eq((plain[3], traced[3]), (0, 0), "both programs exit 0")
    opened_plain = sorted(k for k in plain[1])
    opened = sorted(k for k in traced[1])
    tap.eq(opened, opened_plain, "files opened with pyusdt traced are those "
           "the program opens without pyusdt")
    main = {n: c for n, c in traced[0].get("main", {}).items()
            if n in FORBIDDEN}
    main_plain = {n: c for n, c in plain[0].get("main", {}).items()
                  if n in FORBIDDEN}
    tap.eq(main, main_plain, "main thread: the same calls that open, "
           "connect, execute or change files as without pyusdt")
    poller = traced[0].get("other", {})
    tap.ok(poller and not set(poller) & FORBIDDEN,
           "the poller thread opens nothing, connects nowhere, runs "
           "nothing: its syscalls are %s" % ", ".join(sorted(poller)),
           poller)
    # sys.monitoring.register_callback is audited (by design: a program's
    # audit hook should see monitoring callbacks come and go); pyusdt
    # registers its callbacks on attach and detach, and does nothing else
    # a hook could see
    want = dict(plain[2])
    want["audits"] = sorted(set(want["audits"])
                            | {"sys.monitoring.register_callback"})
    tap.eq(traced[2], want, "the program's audit hook and __import__ see "
           "the same with pyusdt traced as without, but for the audited "
           "registration of pyusdt's callbacks (%s)" % plain[2])


def main():
    tap = TAP()
    # make install relinks the build's libraries in .libs: no test that
    # loads them may run meanwhile (they all hold this lock)
    tracing_lock()
    env_bounds(tap)
    installed_files(tap)
    why = tracing_missing() or uprobes.missing()
    if why:
        for name in ("traced: syscalls", "traced: audit hooks"):
            tap.ok(True, "%s # SKIP %s" % (name, why))
        tap.done()
    require_tracing(tap)
    traced_behaviour(tap)
    tap.done()


main()
