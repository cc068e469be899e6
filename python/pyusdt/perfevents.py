"""pyusdt --perf-events: the probes of the probe library as uprobe event
definitions for /sys/kernel/tracing/uprobe_events, with named arguments
and the strings fetched as text, so that perf record and perf script show
function and file names (perf's own SDT events give numbers only).

Each definition names the probe's semaphore (its file offset in
parentheses), so the kernel raises it while the event is in use, as it
does for bpftrace and perf probe: pyusdt fires the probe only then.
"""

import re
import struct

import pyusdt

# the arguments of each kind of probe (pyusdt(7), ARGUMENTS); a name
# ending in "$" is a string
ENTRY = ("name$", "file$", "firstline", "offset", "qualname$", "location$")
VALUE = ("name$", "file$", "firstline", "offset", "repr$", "qualname$")
LINE = ("name$", "file$", "line", "qualname$", "location$")
ARGUMENTS = {
    ("pyusdt", "PY_START"): ENTRY,
    ("pyusdt", "PY_RESUME"): ENTRY,
    ("pyusdt", "LINE"): LINE,
    ("pyusdt", "STACK_LAYOUT"): ("version", "layout", "size"),
    ("python", "function__entry"): ("filename$", "funcname$", "lineno"),
    ("python", "function__return"): ("filename$", "funcname$", "lineno"),
    ("python", "line"): ("filename$", "funcname$", "lineno"),
}

# x86-64 registers as the kernel's fetch arguments name them
REGISTERS = {}
for _r in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp"):
    for _form in ("r" + _r, "e" + _r, _r):
        REGISTERS[_form] = _r
for _n in range(8, 16):
    for _suffix in ("", "d", "w", "b"):
        REGISTERS["r%d%s" % (_n, _suffix)] = "r%d" % _n

SPEC = re.compile(r"^(-?\d+)@(?:%(\w+)|(-?\d+)\(%(\w+)\)|\$(-?\d+))$")


class PerfEventError(Exception):
    """The library's probes cannot be written as uprobe events."""


def _sections(data):
    """{name: (address, offset, size)} of the ELF file's sections, and
    its loadable segments [(vaddr, offset, memsz)]."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise PerfEventError("not a 64-bit little-endian ELF file")
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(
        "<HHHHH", data, 0x36)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
               for i in range(shnum)]
    names_at = headers[shstrndx][4]
    sections = {}
    for name, _type, _flags, addr, offset, size in headers:
        end = data.index(b"\0", names_at + name)
        sections[data[names_at + name:end].decode()] = (addr, offset, size)
    segments = []
    for i in range(phnum):
        ptype, _f, offset, vaddr, _p, _fsz, memsz = struct.unpack_from(
            "<IIQQQQQ", data, phoff + i * phentsize)
        if ptype == 1:      # PT_LOAD
            segments.append((vaddr, offset, memsz))
    return sections, segments


def _file_offset(segments, vaddr):
    for start, offset, size in segments:
        if start <= vaddr < start + size:
            return vaddr - start + offset
    raise PerfEventError("address 0x%x is in no segment" % vaddr)


def notes(path):
    """The library's USDT probes: [(provider, name, pc, semaphore, [arg
    specs])], pc and semaphore as file offsets."""
    with open(path, "rb") as f:
        data = f.read()
    sections, segments = _sections(data)
    if ".note.stapsdt" not in sections:
        raise PerfEventError("%s has no USDT probes" % path)
    base = sections.get(".stapsdt.base", (None,))[0]
    _, at, size = sections[".note.stapsdt"]
    end = at + size
    probes = []
    while at + 12 <= end:
        namesz, descsz, ntype = struct.unpack_from("<III", data, at)
        name_at = at + 12
        desc_at = name_at + (namesz + 3) // 4 * 4
        at = desc_at + (descsz + 3) // 4 * 4
        if data[name_at:name_at + namesz] != b"stapsdt\0" or ntype != 3:
            continue
        pc, note_base, sem = struct.unpack_from("<QQQ", data, desc_at)
        provider, name, args = data[desc_at + 24:desc_at + descsz].split(
            b"\0")[:3]
        if base is not None:
            pc += base - note_base      # a prelinked library moved
        probes.append((provider.decode(), name.decode(),
                       _file_offset(segments, pc),
                       _file_offset(segments, sem) if sem else 0,
                       args.decode().split()))
    return probes


def fetch_argument(spec, string):
    """A note's argument spec (8@%rdi, -4@16(%rsp), -4@$5) as a fetch
    argument of the kernel's uprobe events."""
    m = SPEC.match(spec)
    if not m:
        raise PerfEventError("cannot read argument %r" % spec)
    size, reg, disp, base, imm = m.groups()
    if reg:
        where = "%" + REGISTERS[reg] if reg in REGISTERS else None
    elif base:
        where = "+%s(%%%s)" % (disp, REGISTERS.get(base, "?"))
    else:
        where = "\\" + imm
    if where is None or "?" in where:
        raise PerfEventError("cannot read argument %r" % spec)
    if string:
        return "+0(%s):ustring" % where
    n = int(size)
    return "%s:%s%d" % (where, "s" if n < 0 else "u", abs(n) * 8)


def definitions(path=None):
    """One uprobe event definition per probe of the library: event
    pyusdt:NAME or python:NAME."""
    path = path or pyusdt.LIBRARY
    lines = []
    for provider, name, pc, sem, specs in notes(path):
        names = ARGUMENTS.get((provider, name), VALUE)
        if len(names) != len(specs):
            raise PerfEventError("%s:%s has %d arguments, not %d" % (
                provider, name, len(specs), len(names)))
        args = ["%s=%s" % (n.rstrip("$"), fetch_argument(s, n.endswith("$")))
                for n, s in zip(names, specs)]
        where = "%s:0x%x" % (path, pc) + ("(0x%x)" % sem if sem else "")
        lines.append(" ".join(["p:%s/%s" % (provider, name), where] + args))
    return lines
