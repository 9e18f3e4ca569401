"""Confining a submission's process before any of its code runs (Linux; weaker elsewhere, and said so).

:func:`confine` is called by the submission's own process (:mod:`cflib.grade.child`)
after it has imported NumPy and cflib and before it runs a line of the
submission. Each layer is applied where the system allows it, and the returned
report says which ones are on; the grader copies that report into its output
and ``report.html``:

* **network**: a new, empty network namespace (``unshare(CLONE_NEWNET)``, allowed
  to root or with user namespaces); where Landlock can, TCP bind and connect are
  refused as well;
* **file system** (Landlock, Linux 5.13+): writing, creating and deleting files is
  allowed only beneath the submission's temporary folder; reading only beneath
  the folders Python and its packages need (the interpreter, its libraries,
  ``/usr``, ``/etc``, ``/proc``, ...), so another student's files and the grader's
  output folder can be neither changed nor read; signals to processes outside
  the sandbox are refused (Landlock ABI 6+);
* **privileges**: as root, every capability is dropped (no mount, no ptrace of
  others, no raw network), and ``no_new_privs`` is set;
* **resources**: a memory ceiling (``RLIMIT_AS``: NumPy raises ``MemoryError``
  instead of the machine swapping), at most 64 MiB per file, no core dumps;
* **Python**: an audit hook refuses new processes, signals, sockets and ctypes,
  and writing outside the folder (a clear ``PermissionError`` naming the rule).

None of this is a container: a determined attacker with a kernel exploit is out
of its scope. It keeps a class's honest mistakes and ordinary mischief (an
endless loop, ``os._exit``, a flood of prints, writing into a classmate's
notebook or the gradebook, patching the checks) from changing anyone's grade.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
import sysconfig

#: Landlock's syscall numbers (the same on every architecture) and access rights.
_CREATE, _ADD_RULE, _RESTRICT = 444, 445, 446
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_WRITES_V1 = sum(1 << b for b in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_CLONE_NEWNET = 0x40000000
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _AMBIENT_CLEAR_ALL = 38, 24, 47, 4
#: Folders a submission may read beneath (besides Python's own, found at run time).
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", "/sys", "/dev")
#: The largest file a submission may write (bytes).
MAX_FILE = 64 * 2**20

#: Python events the audit hook refuses, and what the learner is told.
_REFUSED = {
    "subprocess.Popen": "start programs", "os.system": "start programs", "os.exec": "start programs",
    "os.posix_spawn": "start programs", "os.spawn": "start programs", "os.fork": "start processes",
    "os.forkpty": "start processes", "os.kill": "send signals", "os.killpg": "send signals",
    "signal.pthread_kill": "send signals", "socket.connect": "open network connections",
    "socket.bind": "open network connections", "ctypes.dlopen": "load native libraries",
    "ctypes.dlsym": "load native libraries", "ctypes.cdata": "use ctypes",
}


class _Ruleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _landlock(libc, workdir: str, readable: list) -> str:
    """Apply the file system (and, where the kernel can, TCP and signal) rules; a sentence saying what held."""
    abi = libc.syscall(_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return "not confined: this kernel has no Landlock (Linux 5.13+ with Landlock enabled)"
    writes = _FS_WRITE_FILE | _FS_WRITES_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) \
        | (_FS_IOCTL_DEV if abi >= 5 else 0)
    reads = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    attr = _Ruleset(reads | writes, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                    (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_Ruleset) if abi >= 6 else (16 if abi >= 4 else 8)
    fd = libc.syscall(_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        return f"not confined: Landlock refused the rules (errno {ctypes.get_errno()})"
    try:
        for path, rights in [(p, reads) for p in readable] + [(workdir, reads | writes), (os.devnull, _FS_WRITE_FILE)]:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                is_dir = os.path.isdir(path)
                rule = _PathBeneath(rights if is_dir else rights & (_FS_EXECUTE | _FS_READ_FILE | _FS_WRITE_FILE
                                                                   | _FS_TRUNCATE), pfd)
                libc.syscall(_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(pfd)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(_RESTRICT, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            return f"not confined: Landlock could not be applied (errno {ctypes.get_errno()})"
    finally:
        os.close(fd)
    extra = "; signals to other processes refused" if abi >= 6 else ""
    return f"writes confined to the submission's temporary folder, reads to Python's folders (Landlock ABI {abi}){extra}"


def _drop_capabilities(libc) -> str:
    if os.geteuid() != 0:
        return "an ordinary user (no privileges to drop)"
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(_PR_CAP_AMBIENT, _AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    if libc.capset(ctypes.byref(header), ctypes.byref(data)) != 0:
        return f"root with its capabilities (capset failed, errno {ctypes.get_errno()})"
    return "root without any capability"


def readable_folders(workdir: str) -> list:
    """The folders a submission may read: the system's and Python's, never an ancestor of ``workdir``."""
    paths = set(SYSTEM_READ)
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "include", "scripts", "data"):
        paths.add(sysconfig.get_paths().get(key, ""))
    paths.update((sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))))
    import cflib
    import numpy

    for mod in (cflib, numpy):
        paths.add(os.path.dirname(os.path.dirname(os.path.realpath(mod.__file__))) if mod is numpy
                  else os.path.dirname(os.path.realpath(mod.__file__)))
    work = os.path.realpath(workdir)
    out = []
    for p in sorted(p for p in paths if p):
        real = os.path.realpath(p)
        if real in ("/", "/tmp", "/work", "/home", "/root") or work.startswith(real.rstrip("/") + "/"):
            continue  # too wide: it would let the submission read its neighbours
        out.append(real)
    return out


def _audit(workdir: str):
    work = os.path.realpath(workdir).rstrip("/") + "/"

    def hook(event, args):
        if event in _REFUSED or event.startswith("os.exec") or event.startswith("os.spawn"):
            what = _REFUSED.get(event, "start programs")
            raise PermissionError(f"the grader does not let a submission {what} ({event})")
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if writing:
                path = os.path.realpath(os.fsdecode(args[0]))
                if not (path + "/").startswith(work) and path != os.devnull:
                    raise PermissionError(f"the grader lets a submission write only in its own folder, not {path}")

    sys.addaudithook(hook)


def confine(workdir: str, memory_bytes: int, *, audit: bool = True) -> dict:
    """Confine this process (see the module docstring); returns ``{layer: what held}``.

    Parameters
    ----------
    workdir : str
        The submission's own temporary folder (its working directory).
    memory_bytes : int
        The address-space ceiling, ``RLIMIT_AS``.
    audit : bool
        Add the Python audit hook (the tests of the kernel layers leave it out).
    """
    report = {}
    libc = _libc() if sys.platform.startswith("linux") else None
    if libc is not None and libc.unshare(_CLONE_NEWNET) == 0:
        report["network"] = "off (a new, empty network namespace)"
    else:
        report["network"] = "on (this system does not let the grader create a network namespace)"
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE, MAX_FILE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    report["memory"] = f"{memory_bytes / 2**30:g} GiB of address space"
    if libc is not None:
        report["file system"] = _landlock(libc, workdir, readable_folders(workdir))
        if "not confined" not in report["file system"] and report["network"].startswith("on"):
            report["network"] = "TCP refused by Landlock (other traffic is not blocked)"
        report["privileges"] = _drop_capabilities(libc)
    else:
        report["file system"] = "not confined: only Linux has Landlock"
        report["privileges"] = "unchanged"
    if audit:
        _audit(workdir)
        report["python"] = "no new processes, signals, sockets or ctypes; writes only in the folder"
    return report
