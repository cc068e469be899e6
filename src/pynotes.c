/* pynotes.c - which of CPython's own probes (provider "python") the
 * running interpreter fires itself, read from the USDT notes of its ELF
 * files.  No Python API.
 *
 * Python 3.15 built with DTrace support fires function__entry and
 * function__return again; pyusdt then leaves those to it, so that a
 * tracer attached to python:function__entry by PID (which matches the
 * interpreter's probe and pyusdt's) sees each call once.
 */
#include "config.h"

/* dl_iterate_phdr() */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probetab.h"
#include "pynotes.h"

/* Sizes beyond these are no ELF file pyusdt needs to read. */
#define MAX_SECTIONS 4096
#define MAX_NOTES (4u << 20)

static int
read_at(int fd, void *buf, size_t n, off_t off)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, off + done);
        if (r <= 0) {
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

/* The bit of CPython's probe named name, or 0. */
static unsigned int
python_bit(const char *name, size_t len)
{
    for (int i = 0; i < PYUSDT_NPYTHON; i++) {
        const char *known = pyusdt_python_probe_name(i);
        if (strlen(known) == len && memcmp(known, name, len) == 0) {
            return 1u << (PYUSDT_PYTHON_SHIFT + i);
        }
    }
    return 0;
}

/* The probes of provider "python" in a .note.stapsdt section's text. */
static unsigned int
scan_notes(const unsigned char *p, size_t size)
{
    unsigned int found = 0;
    size_t pos = 0;

    while (pos + sizeof(Elf64_Nhdr) <= size) {
        Elf64_Nhdr nh;
        memcpy(&nh, p + pos, sizeof(nh));
        size_t name_at = pos + sizeof(nh);
        size_t desc_at = name_at + ((nh.n_namesz + 3u) & ~3u);
        size_t next = desc_at + ((nh.n_descsz + 3u) & ~3u);
        if (next > size || next <= pos) {
            break;
        }
        /* stapsdt notes: three addresses, then provider, name, args */
        if (nh.n_type == 3 && nh.n_namesz == 8
            && memcmp(p + name_at, "stapsdt", 8) == 0
            && nh.n_descsz > 3 * 8) {
            const char *text = (const char *)p + desc_at + 3 * 8;
            size_t left = nh.n_descsz - 3 * 8;
            const char *end = memchr(text, '\0', left);
            if (end != NULL && end - text == 6
                && memcmp(text, "python", 6) == 0) {
                const char *name = end + 1;
                const char *name_end = memchr(name, '\0',
                                              left - (size_t)(name - text));
                if (name_end != NULL) {
                    found |= python_bit(name, (size_t)(name_end - name));
                }
            }
        }
        pos = next;
    }
    return found;
}

unsigned int
pyusdt_notes_python_probes(const char *path)
{
    unsigned int found = 0;
    Elf64_Ehdr eh;
    Elf64_Shdr *sh = NULL;
    char *names = NULL;
    unsigned char *notes = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return 0;
    }
    if (read_at(fd, &eh, sizeof(eh), 0) < 0
        || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0
        || eh.e_ident[EI_CLASS] != ELFCLASS64
        || eh.e_shentsize != sizeof(Elf64_Shdr)
        || eh.e_shnum == 0 || eh.e_shnum > MAX_SECTIONS
        || eh.e_shstrndx >= eh.e_shnum) {
        goto done;
    }
    sh = malloc((size_t)eh.e_shnum * sizeof(*sh));
    if (sh == NULL || read_at(fd, sh, (size_t)eh.e_shnum * sizeof(*sh),
                              (off_t)eh.e_shoff) < 0) {
        goto done;
    }
    Elf64_Shdr *strtab = &sh[eh.e_shstrndx];
    if (strtab->sh_size == 0 || strtab->sh_size > MAX_NOTES
        || (names = malloc(strtab->sh_size + 1)) == NULL
        || read_at(fd, names, strtab->sh_size,
                   (off_t)strtab->sh_offset) < 0) {
        goto done;
    }
    names[strtab->sh_size] = '\0';
    for (int i = 0; i < eh.e_shnum; i++) {
        if (sh[i].sh_type != SHT_NOTE || sh[i].sh_name >= strtab->sh_size
            || strcmp(names + sh[i].sh_name, ".note.stapsdt") != 0
            || sh[i].sh_size > MAX_NOTES) {
            continue;
        }
        notes = malloc(sh[i].sh_size);
        if (notes != NULL && read_at(fd, notes, sh[i].sh_size,
                                     (off_t)sh[i].sh_offset) == 0) {
            found |= scan_notes(notes, sh[i].sh_size);
        }
        free(notes);
        notes = NULL;
    }
done:
    free(names);
    free(sh);
    close(fd);
    return found;
}

/* A loaded object whose file is a libpython: its notes too. */
static int
scan_libpython(struct dl_phdr_info *info, size_t size, void *data)
{
    unsigned int *found = data;
    const char *base;
    (void)size;

    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0') {
        return 0;
    }
    base = strrchr(info->dlpi_name, '/');
    base = base ? base + 1 : info->dlpi_name;
    if (strncmp(base, "libpython", 9) == 0) {
        *found |= pyusdt_notes_python_probes(info->dlpi_name);
    }
    return 0;
}

unsigned int
pyusdt_interpreter_python_probes(void)
{
    unsigned int found = pyusdt_notes_python_probes("/proc/self/exe");

    dl_iterate_phdr(scan_libpython, &found);
    return found;
}
