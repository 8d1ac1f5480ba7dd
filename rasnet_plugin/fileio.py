"""Atomic file writes and the cleanup of what a killed write leaves behind.

Every file this package writes (results, timings, checkpoints, training curves, VOT
workspace files) goes through `atomic_write`: the bytes go to a temporary file in the
same folder, are flushed to disk, and `os.replace` puts them in place. A kill at any
moment leaves the old file or the new one, never a torn one, so "the file exists" means
"the file is complete" and a resumed run can trust it.

One temporary-name scheme, ``.<name>.<pid>.<random>.tmp``, lets `remove_stale_temps`
tell the leftovers of a dead writer from the file a live one is writing right now.

Permissions are those of a plain ``open(path, "w")``: a new file gets ``0o666 & ~umask``
(the temporary file is created with mode 0o666 and the kernel applies the umask, so the
process-wide umask is never read or changed), and a file that is replaced keeps its
permission bits. Writing to a symbolic link replaces the link with a regular file.
"""
import os
import re
import secrets
import stat
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text", "atomic_write_bytes", "atomic_save",
           "remove_stale_temps", "is_temp_name"]

_TEMP = re.compile(r"^\.(?P<name>.+?)(?:\.(?P<pid>\d+))?\.[^.]+\.tmp$")


def is_temp_name(name):
    """True for the temporary files `atomic_write` creates (and for older ``.x.tmp`` ones)."""
    return name.startswith(".") and name.endswith(".tmp")


def _fsync_dir(folder):
    try:  # make the rename itself durable (best effort, POSIX only)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


_CREATE = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
           | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def _create_temp(path):
    """(fd, name) of a new ``.<name>.<pid>.<random>.tmp`` next to `path`, created with mode
    0o666 so that the umask (applied by the kernel, as for open()) decides its permissions;
    tempfile.mkstemp would make it 0o600."""
    for _ in range(100):
        tmp = os.path.join(path.parent, ".%s.%d.%s.tmp" % (path.name, os.getpid(),
                                                          secrets.token_hex(4)))
        try:
            return os.open(tmp, _CREATE, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError("no free temporary file name for %s" % path)


def _keep_mode(fd, path):
    """Give the temporary file the permission bits of the file it replaces, if any."""
    try:
        old = stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:
        return                                    # a new file: keep open()'s mode
    try:
        os.fchmod(fd, old)
    except (AttributeError, OSError):              # no fchmod (Windows), or a filesystem
        pass                                      # without POSIX modes: best effort


def atomic_write(path, write, mode="wb", **open_kwargs):
    """Call ``write(f)`` on a temporary file opened with ``mode``, then replace ``path``
    with it. The folder is created if needed; on any error the temporary file is removed
    and ``path`` is untouched. The file gets the permissions open() would give it (a
    replaced file keeps its own). Returns ``path`` as a `Path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            write(f)
            f.flush()
            _keep_mode(f.fileno(), path)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path, text, encoding="utf-8"):
    """Write ``text`` atomically, with ``\\n`` line ends on every platform."""
    return atomic_write(path, lambda f: f.write(text), mode="w", encoding=encoding, newline="\n")


def atomic_write_bytes(path, data):
    return atomic_write(path, lambda f: f.write(data))


def atomic_save(obj, path):
    """`torch.save` ``obj`` to ``path`` atomically."""
    import torch
    return atomic_write(path, lambda f: torch.save(obj, f))


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True                   # alive, another user's
    except (ProcessLookupError, OverflowError, ValueError):
        return False                  # gone, or no such pid can exist
    return True


def remove_stale_temps(folder, recursive=False):
    """Delete the temporary files of writes that were killed mid-way: those whose writer
    process is gone, and older ones that carry no process id. Temporary files of live
    writers (e.g. the other workers of a pool) are left alone. Returns the removed paths."""
    removed = []
    walk = os.walk(folder) if recursive else [(folder, None, _listdir(folder))]
    for d, _, names in walk:
        for name in names:
            m = _TEMP.match(name) if is_temp_name(name) else None
            if m is None or (m.group("pid") and _alive(int(m.group("pid")))):
                continue
            p = os.path.join(d, name)
            try:
                os.remove(p)
                removed.append(p)
            except OSError:
                pass
    return removed


def _listdir(folder):
    try:
        return [n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n))]
    except OSError:
        return []
