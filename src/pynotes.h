/* pynotes.h - the probes of CPython's own (provider "python") that the
 * interpreter fires itself, from the USDT notes of its ELF files. */
#ifndef PYUSDT_PYNOTES_H
#define PYUSDT_PYNOTES_H

/* The bits (PYUSDT_PYTHON_BIT) of CPython's probes that the ELF file at
 * path has USDT notes for; 0 if it cannot be read or is no 64-bit ELF. */
unsigned int pyusdt_notes_python_probes(const char *path);

/* The same for this process: its executable and the libpython it has
 * loaded, if any. */
unsigned int pyusdt_interpreter_python_probes(void);

#endif /* PYUSDT_PYNOTES_H */
