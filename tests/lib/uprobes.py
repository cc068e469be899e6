"""A minimal tracer for the reliability tests: pyusdt's USDT probes as
perf uprobe events.

bpftrace takes about a second to start; the tests that attach and detach
hundreds of times (or while a program exits) use perf_event_open(2) on the
kernel's uprobe PMU instead (opening takes milliseconds, closing about
0.1 s per event here), exactly as perf(1) does for an SDT
event: a uprobe at the probe's address with the probe's semaphore as its
reference counter, so the kernel raises the semaphore while the event is
open.  A task-bound event counts the hits of one thread; a CPU-bound event
(pid -1) traces every process that maps the library.

Semaphores(pid) raises the semaphores of one process by writing its memory
(as old SystemTap and bcc did), with no uprobe: pyusdt switches the events
on and fires its probe sites, which stay plain nops.  That is how a traced
run is made under valgrind, which cannot run a uprobe's breakpoint.
"""

import ctypes
import os
import struct

NR_PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241}.get(os.uname().machine)
PERF_FLAG_FD_CLOEXEC = 8
PMU_DIR = "/sys/bus/event_source/devices/uprobe"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def usdt_probes(path, provider="pyusdt"):
    """{probe name: (probe file offset, semaphore file offset)} from the
    .note.stapsdt notes of an ELF64 little-endian shared object."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("%s: not an ELF64 little-endian file" % path)
    phoff, shoff = struct.unpack_from("<QQ", elf, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(
        "<HHHHH", elf, 0x36)
    loads = []
    for i in range(phnum):
        p_type, _flags, off, vaddr, _paddr, filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if p_type == 1:    # PT_LOAD
            loads.append((vaddr, filesz, off))
    sections = {}
    shdrs = [struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
             for i in range(shnum)]
    strtab = shdrs[shstrndx][4]
    for name, _type, _flags, addr, off, size in shdrs:
        end = elf.index(b"\0", strtab + name)
        sections[elf[strtab + name:end].decode()] = (addr, off, size)

    def file_offset(addr):
        for vaddr, filesz, off in loads:
            if vaddr <= addr < vaddr + filesz:
                return addr - vaddr + off
        raise ValueError("%s: address %#x in no loaded segment"
                         % (path, addr))

    base = sections.get(".stapsdt.base", (None,))[0]
    _addr, off, size = sections[".note.stapsdt"]
    probes = {}
    pos = off
    while pos < off + size:
        namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
        pos += 12
        name = elf[pos:pos + namesz].rstrip(b"\0")
        pos += (namesz + 3) & ~3
        desc = elf[pos:pos + descsz]
        pos += (descsz + 3) & ~3
        if name != b"stapsdt" or ntype != 3:
            continue
        pc, note_base, sem = struct.unpack_from("<QQQ", desc, 0)
        prov, pname = desc[24:].split(b"\0")[:2]
        if prov.decode() != provider:
            continue
        if base is not None and note_base:
            # prelinked or moved: the notes hold link-time addresses
            pc += base - note_base
            if sem:
                sem += base - note_base
        probes[pname.decode()] = (file_offset(pc),
                                  file_offset(sem) if sem else 0)
    return probes


def online_cpus():
    """The online CPUs, from /sys/devices/system/cpu/online ("0-3,5")."""
    cpus = []
    with open("/sys/devices/system/cpu/online") as f:
        for part in f.read().strip().split(","):
            lo, _, hi = part.partition("-")
            cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def pmu_type():
    with open(os.path.join(PMU_DIR, "type")) as f:
        return int(f.read())


def missing():
    """Why perf uprobes cannot be used here, or None."""
    if NR_PERF_EVENT_OPEN is None:
        return "perf_event_open: unknown system call number here"
    if not os.path.exists(os.path.join(PMU_DIR, "format", "ref_ctr_offset")):
        return "the kernel's uprobe PMU has no ref_ctr_offset"
    return None


class Uprobe:
    """One perf uprobe event on one USDT probe: counting from open() to
    close().  pid is a thread id (its hits only), or -1 with cpu >= 0 for
    every process on that CPU."""

    def __init__(self, library, probe, pid, cpu=-1, probes=None):
        probes = probes or usdt_probes(library)
        self.library = library
        self.probe = probe
        self.offset, self.semaphore = probes[probe]
        self.pid = pid
        self.cpu = cpu
        self.fd = -1

    def open(self):
        path = ctypes.create_string_buffer(os.fsencode(self.library))
        attr = struct.pack("<IIQQQQQIIQQ", pmu_type(), 72,
                           self.semaphore << 32, 0, 0, 0, 0, 0, 0,
                           ctypes.addressof(path), self.offset)
        buf = ctypes.create_string_buffer(attr, len(attr))
        fd = _libc.syscall(NR_PERF_EVENT_OPEN, buf, self.pid, self.cpu, -1,
                           PERF_FLAG_FD_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, "perf_event_open(uprobe %s, pid %d, cpu %d): "
                          "%s" % (self.probe, self.pid, self.cpu,
                                  os.strerror(err)))
        self.fd = fd
        return self

    def count(self):
        return struct.unpack("<Q", os.read(self.fd, 8))[0]

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Tracer:
    """A set of Uprobe events opened and closed together: attach() raises
    the probes' semaphores, detach() lowers them; counts() gives
    {(probe, pid): hits} read just before detaching."""

    def __init__(self, library, probes, pids=None):
        self.library = library
        self.table = usdt_probes(library)
        if pids is None:
            # every process, one event per CPU
            targets = [(-1, cpu) for cpu in online_cpus()]
        else:
            targets = [(pid, -1) for pid in pids]
        self.events = [Uprobe(library, p, pid, cpu, self.table)
                       for p in probes for pid, cpu in targets]

    def attach(self):
        try:
            for e in self.events:
                e.open()
        except OSError:
            self.detach()
            raise
        return self

    def counts(self):
        out = {}
        for e in self.events:
            if e.fd >= 0:
                key = (e.probe, e.pid)
                out[key] = out.get(key, 0) + e.count()
        return out

    def detach(self):
        for e in self.events:
            e.close()

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.detach()


def mapping_of(pid, library):
    """[(start, end, file offset)] of the library's mappings in pid."""
    real = os.path.realpath(library)
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and os.path.realpath(parts[5].strip()) == real:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append((start, end, int(parts[2], 16)))
    return out


class Semaphores:
    """Raise and lower the semaphores of some probes in one process by
    writing its memory (/proc/PID/mem), as a tracer without kernel
    reference counters does.  No uprobe is placed."""

    def __init__(self, pid, library, probes):
        table = usdt_probes(library)
        maps = mapping_of(pid, library)
        self.pid = pid
        self.addrs = []
        for p in probes:
            sem = table[p][1]
            for start, end, off in maps:
                if off <= sem < off + (end - start):
                    self.addrs.append(start + sem - off)
                    break
            else:
                raise ValueError("semaphore of %s not mapped in %d"
                                 % (p, pid))

    def _add(self, delta):
        with open("/proc/%d/mem" % self.pid, "r+b", buffering=0) as mem:
            for a in self.addrs:
                mem.seek(a)
                v = struct.unpack("<H", mem.read(2))[0]
                mem.seek(a)
                mem.write(struct.pack("<H", (v + delta) & 0xffff))

    def raise_(self):
        self._add(1)

    def lower(self):
        self._add(-1)
