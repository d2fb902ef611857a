"""Reading and writing the engine's files: parameters, inputs/targets, traces, of a single
cell (format 1) and of whole models (format 2, laid out by ``model_arrays.py``).

Reading never unpickles and never trusts a header: every ``.npy`` (alone or inside an
``.npz``) is checked for its dtype and for a declared size that matches the bytes that
are really there, *before* anything is allocated; what all the arrays a file is read for
expand to is budgeted together against the memory available; then names, shapes, dtypes
and finiteness are checked. A file is opened without blocking and then checked for being
a regular file (the file opened, not the name looked at), so a FIFO or a device swapped in
never hangs a reader. Every problem is a ``UserError`` whose message is one line naming
the file. Writing goes to a recognisable temporary file beside the target, then
``os.replace``; only a regular file (or a symbolic link to one) is ever replaced.
The formats are documented in ``docs/file-formats.md``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
import struct
import time
import zipfile
from pathlib import Path

import numpy as np

from .errors import UserError
from .losses import make_loss
from .memory import format_bytes, memory_limit
from .model import Model, ModelTrace
from .model_arrays import (
    PARAMS_FORMAT,
    RUN_FORMAT,
    SESSION_FORMAT,
    TRACE_FORMAT,
    ModelFile,
    file_kind,
    fits_version_1,
    model_file,
    model_trace_arrays,
    model_trace_from_arrays,
    model_trace_of,
    params_arrays,
    params_from_arrays,
    parse_meta,
    select_model,
)
from .params import PARAM_NAMES, Params
from .textsafe import quote, show
from .trace import GATE_ORDER, GRAD_NAMES, STEP_NAMES, Trace, stack_gate_gradients

TRACE_VERSION = 1              # what ``save_trace`` writes: a single cell's pass
LOSS_PREFIX = "loss."          # a loss's own parameters and their gradients: loss.wy, loss.wy_diff

__all__ = ["memory_limit"]     # re-exported: the app budgets with the same function


# ---- low level: headers first, then data ----------------------------------------------

def _read_header(fp, what: str):
    """(shape, fortran_order, dtype) of the .npy stream ``fp``, refusing object dtypes."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise UserError(f"{what} uses .npy format {version}, which is not supported")
    except UserError:
        raise
    except (ValueError, EOFError, SyntaxError, TypeError) as err:
        raise UserError(f"{what} is not a valid .npy array ({_first_line(err)})") from None
    if dtype.hasobject:
        raise UserError(f"{what} holds Python objects; pickled data is never loaded")
    return shape, fortran, dtype


def _first_line(err: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, at most ``limit`` characters (zipfile
    quotes raw header bytes in some of its messages)."""
    text = str(err).strip().splitlines()
    line = text[0] if text else type(err).__name__
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _kind_of(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return kind
    return "not a regular file"


def _refuse_special(path, mode: int) -> None:
    """UserError unless ``mode`` is a regular file's (the words the readers always used)."""
    if stat.S_ISDIR(mode):
        raise UserError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(mode):
        kind = _kind_of(mode)
        kind = "" if kind == "not a regular file" else f" ({kind})"
        raise UserError(f"{path}: is not a regular file{kind}")


def _cannot_read(path, err: OSError) -> UserError:
    if isinstance(err, FileNotFoundError):
        return UserError(f"{path}: no such file")
    if err.errno == errno.ELOOP:
        return UserError(f"{path}: a loop of symbolic links, not a file")
    return UserError(f"{path}: cannot read ({err.strerror or _first_line(err)})")


def check_regular_file(path: Path) -> None:
    """UserError unless ``path`` names a regular file now (a first look, by name: a reader
    then checks the file it really opened, see ``open_regular``)."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise _cannot_read(path, err) from None
    _refuse_special(path, st.st_mode)


# Opened without blocking: a FIFO (or a terminal) opens at once instead of waiting for a
# writer, and is then refused by what fstat says about the descriptor itself.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def open_regular(path, what=None):
    """``path`` opened for binary reading, checked to be a regular file *after* opening
    (``os.fstat`` of the descriptor), so a FIFO or a device swapped in between a look at
    the name and the open is refused, never read and never waited on. The name is looked
    at first too, so that a device is not even opened when it is plainly one."""
    what = what or path
    check_regular_file(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as err:
        raise _cannot_read(what, err) from None
    try:
        _refuse_special(what, os.fstat(fd).st_mode)
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):       # a regular file: block again
            import fcntl
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException as err:
        os.close(fd)
        if isinstance(err, OSError):
            raise _cannot_read(what, err) from None
        raise


def _check_dtype(dtype: np.dtype, kinds: str, what: str) -> None:
    if dtype.kind not in kinds:
        names = {"f": "floating point", "i": "integer", "u": "integer", "U": "text", "b": "bool"}
        want = " or ".join(dict.fromkeys(names.get(k, k) for k in kinds))
        raise UserError(f"{what} has dtype {dtype}, expected {want}")


def _declared_bytes(shape, dtype: np.dtype) -> int:
    """Bytes of data a header declares (exact: Python integers never overflow)."""
    count = 1
    for n in shape:
        count *= int(n)
    return count * dtype.itemsize


def _native(a: np.ndarray) -> np.ndarray:
    """``a`` in the machine's byte order: a big-endian ``>f8`` array is read as float64
    (swapped in place when it can be, so no second copy is made)."""
    if a.dtype.isnative:
        return a
    native = a.dtype.newbyteorder("=")
    if a.flags.writeable:                   # ours alone: read_array made it
        a.byteswap(inplace=True)
        return a.view(native)
    return a.astype(native)


def _too_big(what, need: int) -> UserError:
    return UserError(f"{what}: its arrays expand to {format_bytes(need)}, which would not fit "
                     f"in memory ({format_bytes(memory_limit())} may be used)")


def load_npy(path, kinds: str = "fiu", what: str | None = None) -> np.ndarray:
    """Load one ``.npy`` array of a numeric dtype, checked before allocation."""
    path = Path(path)
    what = what or str(path)
    try:
        with open_regular(path, what) as fp:
            shape, fortran, dtype = _read_header(fp, what)
            _check_dtype(dtype, kinds, what)
            declared = _declared_bytes(shape, dtype)
            present = os.fstat(fp.fileno()).st_size - fp.tell()
            if declared != present:
                raise UserError(f"{what}: header declares {declared} bytes of data but the file "
                                f"holds {present} (truncated or damaged)")
            if declared > memory_limit():
                raise _too_big(what, declared)
            fp.seek(0)                                      # read_array reads the header again
            return _native(np.lib.format.read_array(fp, allow_pickle=False))
    except UserError:
        raise
    except OSError as err:
        raise UserError(f"{what}: cannot read ({_first_line(err)})") from None
    except MemoryError:
        raise UserError(f"{what}: not enough memory to read it") from None
    except Exception as err:   # a damaged header or body can raise many types
        raise UserError(f"{what}: damaged file ({type(err).__name__}: "
                        f"{_first_line(err)})") from None


# A member this large that deflated by more than this ratio is refused as a zip bomb
# (np.savez writes uncompressed; savez_compressed of real data rarely exceeds ~10x). The
# same rule holds for all the members read together: forty members each just under the
# size are the same bomb as one.
BOMB_SIZE = 64 * 2**20
BOMB_RATIO = 1000
# More members than any file of ours has (a saved session's ring holds a few thousand):
# each costs a header read, so a million empty ones would be a hang, not a file.
MAX_MEMBERS = 100_000


def read_npz(path, kinds: dict[str, str] | None = None, default_kinds: str = "fiub",
             select=None, first=None, place=None) -> dict:
    """The arrays of an ``.npz`` archive by name, each checked before it is allocated.

    ``kinds`` maps a name to its allowed dtype kinds (numpy's one-letter codes);
    ``select(name) -> bool`` picks the members to read (others are never decompressed).
    What the chosen members expand to in total is checked against the memory available,
    and against the size of the file, before any of them is read.

    ``first(meta)``, if given, is called with the member ``meta`` (read before any other
    member; None if the archive has none) and returns the ``select`` for the others, or
    raises: a file refused on what its ``meta`` says is read no further, and a reader
    picks the members that the format version named there has.

    ``place({name: (shape, dtype)})``, if given, is called with the checked headers of
    the members to be read (after the memory check) and returns arrays to read some of
    them into, ``{name: out}`` (``out`` of that shape, in that dtype's native order; any
    other is ignored): a reader that wants members side by side in one buffer gets them
    there as they are read, with no copy made afterwards (``place_trace_v1``).
    """
    path = Path(path)
    kinds = kinds or {}
    try:
        with open_regular(path) as raw, zipfile.ZipFile(raw) as zf:
            size = os.fstat(raw.fileno()).st_size
            members = [m for m in zf.infolist() if not m.is_dir()]
            if not members:
                raise UserError(f"{path}: the archive is empty")
            if len(members) > MAX_MEMBERS:
                raise UserError(f"{path}: {len(members)} members, more than the "
                                f"{MAX_MEMBERS} any lstm-viz file has")
            if sum(m.compress_size for m in members) > size:
                # each member's bytes are its own: members that share them are a bomb
                raise UserError(f"{path}: its members claim more bytes than the "
                                f"{size}-byte file holds (overlapping or damaged)")
            for m in members:
                if not m.filename.endswith(".npy"):
                    raise UserError(f"{path}: unexpected member {quote(m.filename)} "
                                    "(not a .npy array)")
            out = {}
            if first is not None:
                head = [m for m in members if m.filename == "meta.npy"]
                out = _read_members(zf, path, size, head, None, kinds, default_kinds)
                select = first(out.get("meta"))
                members = [m for m in members if m.filename != "meta.npy"]
            out.update(_read_members(zf, path, size, members, select, kinds, default_kinds,
                                     place))
            return out
    except UserError:
        raise
    except zipfile.BadZipFile as err:
        raise UserError(f"{path}: not a valid .npz archive ({_first_line(err)})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({_first_line(err)})") from None
    except MemoryError:
        raise UserError(f"{path}: not enough memory to read it") from None
    except Exception as err:   # zipfile and zlib raise many types on a damaged archive
        raise UserError(f"{path}: damaged archive ({type(err).__name__}: "
                        f"{_first_line(err)})") from None


def _read_members(zf, path: Path, size: int, members, select, kinds, default_kinds,
                  place=None) -> dict:
    """The members ``select`` picks: every header checked, then their total budgeted,
    then their data read (into ``place``'s arrays where it gives one)."""
    plan, total, packed = [], 0, 0
    for m in members:
        name = m.filename[:-4]
        if select is not None and not select(name):
            continue
        what = f"{path}: array {quote(name)}"
        stored = m.compress_type == zipfile.ZIP_STORED
        if m.compress_size > size or (stored and m.file_size != m.compress_size):
            # the directory lies: refuse before allocating what it claims
            raise UserError(f"{what} claims {m.compress_size} bytes in a "
                            f"{size}-byte file (truncated or damaged)")
        if m.file_size > BOMB_SIZE and m.file_size > BOMB_RATIO * m.compress_size:
            raise UserError(f"{what} would inflate {m.compress_size} bytes to "
                            f"{m.file_size}; refused as a zip bomb")
        with zf.open(m) as fp:
            shape, fortran, dtype = _read_header(fp, what)
            offset = fp.tell()
        _check_dtype(dtype, kinds.get(name, default_kinds), what)
        declared = _declared_bytes(shape, dtype)
        if offset + declared != m.file_size:
            raise UserError(f"{what} declares {declared} bytes but holds "
                            f"{m.file_size - offset} (truncated or damaged)")
        total += declared
        packed += m.compress_size
        plan.append((m, name, what, shape, fortran, dtype))
    inflated = sum(m.file_size for m, *_ in plan)
    if inflated > BOMB_SIZE and inflated > BOMB_RATIO * packed:
        raise UserError(f"{path}: {len(plan)} members would inflate {packed} bytes "
                        f"to {inflated}; refused as a zip bomb")
    if total > memory_limit():
        raise _too_big(path, total)
    into = {} if place is None else place({p[1]: (p[3], p[5]) for p in plan})
    out = {}
    for m, name, what, shape, fortran, dtype in plan:
        dest = into.get(name)
        with zf.open(m) as fp:
            if (dest is not None and not fortran and dest.shape == tuple(shape)
                    and dest.dtype == dtype.newbyteorder("=") and dest.ndim == 2):
                _read_header(fp, what)
                out[name] = _read_rows(fp, dest, dtype, what)
            else:
                out[name] = _native(np.lib.format.read_array(fp, allow_pickle=False))
    return out


READ_CHUNK = 1 << 20          # bytes read at a time into a placed array


def _read_rows(fp, dest: np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    """The data of the .npy stream ``fp`` (just past its header; ``dtype`` as stored,
    perhaps big-endian) read into the 2-D array ``dest`` (any view), a block of rows at a
    time. Returns ``dest``."""
    rows, cols = dest.shape
    row_bytes = cols * dtype.itemsize
    step = max(1, READ_CHUNK // max(1, row_bytes))
    for start in range(0, rows, step):
        n = min(step, rows - start)
        data = fp.read(n * row_bytes)
        if len(data) != n * row_bytes:
            raise UserError(f"{what} ends before its data does (truncated or damaged)")
        dest[start:start + n] = np.frombuffer(data, dtype=dtype).reshape(n, cols)
    return dest


def check_archive_expansion(fp, path) -> None:
    """UserError unless the zip archive open as ``fp`` (a ``.pt`` is one) expands within
    the rules ``read_npz`` applies: members that do not share their bytes, no bomb (alone
    or together) and a total that fits in memory. For readers that hand the archive to
    another library, which would inflate it unchecked; ``fp`` is left at its start."""
    try:
        size = os.fstat(fp.fileno()).st_size
        with zipfile.ZipFile(fp) as zf:
            members = zf.infolist()
    # A damaged central directory makes zipfile raise more than BadZipFile: a flipped byte
    # in a name flagged UTF-8 is a UnicodeDecodeError, a short record a struct.error.
    except (zipfile.BadZipFile, ValueError, struct.error, EOFError, OverflowError,
            NotImplementedError, LookupError) as err:
        raise UserError(f"{path}: not a valid archive ({_first_line(err)})") from None
    finally:
        fp.seek(0)
    if len(members) > MAX_MEMBERS:
        raise UserError(f"{path}: {len(members)} members, more than the {MAX_MEMBERS} "
                        "any lstm-viz file has")
    packed = sum(m.compress_size for m in members)
    inflated = sum(m.file_size for m in members)
    if packed > size:
        raise UserError(f"{path}: its members claim more bytes than the {size}-byte file "
                        "holds (overlapping or damaged)")
    for m in members:
        if m.file_size > BOMB_SIZE and m.file_size > BOMB_RATIO * m.compress_size:
            raise UserError(f"{path}: member {quote(m.filename)} would inflate "
                            f"{m.compress_size} bytes to {m.file_size}; refused as a zip bomb")
    if inflated > BOMB_SIZE and inflated > BOMB_RATIO * packed:
        raise UserError(f"{path}: {len(members)} members would inflate {packed} bytes to "
                        f"{inflated}; refused as a zip bomb")
    if inflated > memory_limit():
        raise _too_big(path, inflated)


# ---- writing: a temporary beside the target, then one rename ---------------------------

# Temporaries are named ``.NAME.lstm-viz-tmp-PID-XXXXXXXX``: recognisably ours, so one
# that a killed save left behind is removed by a later save into the same folder once it
# is STALE_AFTER seconds old and the process that wrote it is gone, and nothing else is.
TEMP_MARK = ".lstm-viz-tmp-"
_TEMP_NAME = re.compile(r"\..+\.lstm-viz-tmp-(\d{1,10})-[0-9a-f]{8}", re.S)
STALE_AFTER = 15 * 60


def output_target(path) -> Path:
    """The file a save to ``path`` replaces: ``path`` itself, or the regular file a symbolic
    link at ``path`` leads to (written through, as editors and ``cp`` do), or ``path``
    when nothing is there yet. Anything else is refused in one line: a directory, a device,
    a FIFO, a socket, a symbolic link to one of those, to nothing, or in a loop."""
    path = Path(path)
    link = os.path.islink(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if link:
            raise UserError(f"{path}: is a symbolic link to a missing file; "
                            "not writing through it") from None
        return path                     # a new file (a missing folder is named later)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UserError(f"{path}: is a loop of symbolic links; nothing was written") \
                from None
        reason = " ".join(str(err.strerror or err).split())
        raise UserError(f"{path}: cannot write ({reason})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{path}: is a directory; give a file name")
    if not stat.S_ISREG(st.st_mode):
        where = "a symbolic link to " if link else ""
        raise UserError(f"{path}: is {where}{_kind_of(st.st_mode)}, not a regular file; "
                        "refusing to write over it")
    if not link:
        return path
    target = Path(os.path.realpath(path))
    try:
        same = os.path.samestat(os.stat(target), st)
    except OSError:
        same = False
    if not same:            # /proc/self/fd/N and its kind: a link to an open file, no name
        raise UserError(f"{path}: is a symbolic link that does not lead to a file by its "
                        "name; refusing to write through it")
    return target


def check_writable(path) -> Path:
    """Refuse, in one line, an output path whose folder is missing or read-only, or that
    is not a regular file (or a link to one): checked before a long computation, not
    after it."""
    path = Path(path)
    folder = output_target(path).parent
    if not folder.is_dir():
        raise UserError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{path}: the folder {folder} is not writable")
    return path


def _write_failed(path: Path, err: OSError, existed: bool) -> UserError:
    reason = " ".join(str(err.strerror or err).split()) or type(err).__name__
    kept = "; the file that was there is unchanged" if existed else ""
    return UserError(f"{path}: cannot write ({reason}){kept}")


def _temporary_for(target: Path) -> tuple[int, Path]:
    """A new, empty temporary file beside ``target``, created with the permissions any new
    file gets (0o666 less the umask), never through a link."""
    short = target.name
    while len(os.fsencode(short)) > 100:        # NAME + the mark stays under 255 bytes
        short = short[:-1]
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    while True:
        tmp = target.parent / f".{short}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _process_exists(pid: int) -> bool:
    try:
        import psutil
        return psutil.pid_exists(pid)
    except Exception:               # noqa: BLE001 - cannot tell: assume it is alive
        return True


def clear_stale_temporaries(folder) -> list[Path]:
    """Remove the temporaries of saves that were killed half-way in ``folder``: files named
    as ``atomic_write`` names them, owned by this user, untouched for STALE_AFTER seconds,
    whose process is gone. Returns what was removed (best effort: a failure is skipped)."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (not stat.S_ISREG(st.st_mode) or now - st.st_mtime < STALE_AFTER
                or (hasattr(os, "getuid") and st.st_uid != os.getuid())
                or _process_exists(int(match[1]))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_write(path):
    """Open a temporary file beside the target for binary writing; on success it is
    flushed, synced and renamed over the target, on any failure removed: the target is
    always either the old file or the complete new one. The target is ``path``, or the
    regular file a symbolic link at ``path`` leads to; anything else is refused before a
    byte is written (``output_target``). A replaced file keeps its permissions (and, where
    allowed, its owner); a new one gets those of any new file. An OSError on the way (a
    full disk half-way through, a failed fsync or rename) becomes a one-line UserError
    naming ``path``."""
    path = check_writable(path)
    target = output_target(path)
    try:
        before = os.stat(target)
    except FileNotFoundError:
        before = None
    except OSError as err:
        raise _write_failed(path, err, False) from None
    clear_stale_temporaries(target.parent)
    try:
        fd, tmp = _temporary_for(target)
    except OSError as err:
        raise _write_failed(path, err, before is not None) from None
    try:
        try:
            if before is not None:             # a regular file's mode, never a device's
                os.fchmod(fd, stat.S_IMODE(before.st_mode))
                if hasattr(os, "fchown") and (before.st_uid, before.st_gid) != (
                        os.fstat(fd).st_uid, os.fstat(fd).st_gid):
                    with contextlib.suppress(OSError):
                        os.fchown(fd, before.st_uid, before.st_gid)
            fp = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with fp:
            yield fp
            fp.flush()
            os.fsync(fp.fileno())
        _still_replaceable(path, target)
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _write_failed(path, err, before is not None) from None
        raise
    _sync_folder(target.parent)


def _still_replaceable(path: Path, target: Path) -> None:
    """The last look before the rename: something other than a regular file that appeared
    at the target while the bytes were written is not replaced either."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: became {_kind_of(mode)} while it was written; "
                        "refusing to write over it")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it (best effort: the new
    file is complete and in place whatever happens here)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_npz_atomic(path, arrays: dict) -> None:
    """Write an uncompressed ``.npz`` atomically (see ``atomic_write``)."""
    with atomic_write(path) as fp:
        np.savez(fp, **arrays)


# ---- parameters ---------------------------------------------------------------------

def save_params(path, params: Params) -> None:
    save_npz_atomic(path, params.as_dict())


def load_params(path) -> Params:
    """A single cell's parameters from a file that has them: a parameters file (format 1,
    ``wg wi wf wo bg bi bf bo``, or format 2 of a one-layer model), a trace or a training
    run (``load_model`` reads every model)."""
    model = load_model(path).model
    if model.num_layers > 1:
        raise UserError(f"{path}: a {model.num_layers}-layer model; a single cell's "
                        "parameters were expected (load_model reads it)")
    return model.layers[0]


def load_model(path) -> ModelFile:
    """The Model in a parameters file (format 1 or 2), a trace (1 or 2) or a training run,
    with what kind of file it is and whether it states the variant (``ModelFile``). Only
    the members that hold the model are read; every array of a model is floating point."""
    path = Path(path)
    found: dict = {}

    def first(raw):
        meta = parse_meta(raw, path)
        kind, version = file_kind(meta, path)
        if kind == "session":
            raise UserError(f"{path}: a saved lstm-viz session, not parameters; open it in "
                            "lstm-viz")
        found.update(meta=meta, kind=kind, version=version)
        return select_model(kind, version)

    arrays = read_npz(path, kinds={"meta": "U", "vocab": "U"}, default_kinds="f", first=first)
    return model_file(arrays, found["meta"], found["kind"], found["version"], path)


def save_model_params(path, model: Model, vocab=None) -> None:
    """Write a Model as a parameters file of format 2 (atomically), with its vocabulary
    (the text of each token id, ``vocab.py``) if given."""
    save_npz_atomic(path, params_arrays(model, vocab))


# ---- vocabularies -------------------------------------------------------------------

def load_vocab(path, size: int | None = None) -> tuple[str, ...]:
    """The tokens of a vocabulary file (``vocab.parse_vocab``: a JSON list or one token
    per line, checked; ``size`` of them if given), at most ``vocab.MAX_FILE_BYTES``."""
    from .vocab import MAX_FILE_BYTES, parse_vocab

    try:
        with open_regular(path) as fp:
            n = os.fstat(fp.fileno()).st_size
            if n > MAX_FILE_BYTES:
                raise UserError(f"{path}: {n} bytes is more than the "
                                f"{MAX_FILE_BYTES // 2**20} MiB a vocabulary file may have")
            raw = fp.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror or _first_line(err)})") from None
    return parse_vocab(raw, size, str(path))


# ---- traces -------------------------------------------------------------------------

def save_trace(path, trace: Trace) -> None:
    meta = {"format": TRACE_FORMAT, "version": TRACE_VERSION, **trace.meta()}
    arrays = {**trace.params.as_dict(), "x": trace.x, "y": trace.y,
              "meta": np.array(json.dumps(meta))}
    arrays.update({n: trace[n] for n in STEP_NAMES + GRAD_NAMES})
    arrays.update({LOSS_PREFIX + k: v for k, v in trace.loss_params.items()})
    arrays.update({LOSS_PREFIX + k: v for k, v in trace.loss_grads.items()})
    save_npz_atomic(path, arrays)


TRACE_READS = 3               # the newest trace format this version reads


def trace_meta(raw, path) -> dict:
    """The meta of a trace file (its ``meta`` member, None if it has none), checked to
    describe a trace of a format this version reads; another of the engine's files is
    named as what it is."""
    meta = parse_meta(raw, path)
    if meta is None:
        raise UserError(f"{path}: no 'meta' entry; this is not a trace file")
    fmt = meta.get("format")
    if fmt != TRACE_FORMAT:
        what = {RUN_FORMAT: "a training run (lstm-engine train -o), not a trace; "
                            "lstm-engine info describes it",
                PARAMS_FORMAT: "a parameters file, not a trace; lstm-engine record "
                               "records one from it",
                SESSION_FORMAT: "a saved session, not a trace"}.get(str(fmt))
        raise UserError(f"{path}: {what}" if what else
                        f"{path}: 'meta' does not describe an {TRACE_FORMAT} file")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserError(f"{path}: 'meta' has no valid format version")
    if version > TRACE_READS:
        raise UserError(f"{path}: written in trace format {version} by a newer lstm-viz; "
                        f"this version reads format {TRACE_READS}")
    return meta


def _parse_meta(arrays: dict, path: Path) -> dict:
    return trace_meta(arrays.get("meta"), path)


# The arrays a trace holds (beside the loss's own ``loss.*`` entries) and their dtype kinds.
TRACE_ARRAYS = PARAM_NAMES + STEP_NAMES + GRAD_NAMES + ("x", "y")
TRACE_KINDS = dict.fromkeys(PARAM_NAMES + STEP_NAMES + GRAD_NAMES + ("x",), "f")


def select_trace_v1(name: str) -> bool:
    """The members of a format-1 trace file."""
    return name in TRACE_ARRAYS or name.startswith(LOSS_PREFIX)


def _one_cell(meta: dict, path) -> None:
    """Refuse, from its meta alone, a format-2 trace a single cell's Trace cannot show: a
    stacked model, or token ids through an embedding."""
    layers, vocab = meta.get("layers"), meta.get("vocab")
    why = None
    if isinstance(layers, int) and not isinstance(layers, bool) and layers > 1:
        why = f"a trace of a {layers}-layer model"
    elif vocab is not None:
        why = "a trace of a model with an embedding (token ids)"
    if why:
        raise UserError(f"{path}: {why}; this version of the app opens one-layer traces on "
                        "dense inputs (lstm-engine info describes it; the Python API reads "
                        "it with load_model_trace)")


def load_trace(path) -> Trace:
    """A single cell's Trace from a trace file, with every array checked against ``meta``:
    format 1, or format 2 of a one-layer model on dense inputs. A stacked model's trace,
    or one with an embedding, is refused in one line from its meta, before its arrays are
    read (``load_model_trace`` reads every trace)."""
    path = Path(path)
    found = {}

    def first(raw):
        found["meta"] = meta = trace_meta(raw, path)
        if meta["version"] == 1:
            return select_trace_v1
        _one_cell(meta, path)
        return None

    arrays = read_npz(path, kinds={"meta": "U", **TRACE_KINDS}, default_kinds="fiu",
                      first=first,
                      place=lambda h: place_trace_v1(h) if found["meta"]["version"] == 1
                      else {})
    return _single(arrays, found["meta"], path)


def _single(arrays: dict, meta: dict, path) -> Trace:
    if meta["version"] == 1:
        return trace_from_arrays(arrays, meta, str(path))
    _one_cell(meta, path)
    return model_trace_from_arrays(arrays, meta, str(path)).layers[0]


def trace_from_file_arrays(arrays: dict, path) -> Trace:
    """A Trace from the arrays already read from the trace file ``path`` (its ``meta``
    among them), checked as ``load_trace`` checks them: a caller that has read the file
    for another reason does not read it a second time."""
    return _single(arrays, _parse_meta(arrays, Path(path)), path)


def save_model_trace(path, trace) -> None:
    """Write a recorded pass (a ModelTrace, or a single cell's Trace) atomically: format 1
    when that holds it completely (``model_arrays.fits_version_1``: one layer, dense
    inputs, the toy loss, one sequence, no interventions), format 2 otherwise (3 with
    interventions)."""
    if isinstance(trace, Trace) and not trace.interventions:
        save_trace(path, trace)
    elif isinstance(trace, Trace):
        save_npz_atomic(path, model_trace_arrays(model_trace_of(trace)))
    elif fits_version_1(trace):
        save_trace(path, trace.layers[0])
    else:
        save_npz_atomic(path, model_trace_arrays(trace))


def place_trace_v1(headers: dict) -> dict:
    """Where ``read_npz`` reads a format-1 trace's arrays that the recorder keeps side by
    side (``Trace.dz``: the four gate gradients in one (T, 4H) buffer; ``xc`` the first T
    rows of a (T+1, X+H) buffer whose last row ``_share_copies`` fills, so that x, xc and
    h are one buffer): allocated once and read into, instead of read apart and copied
    together (a transient second copy of them, which also stayed in the process's
    resident memory). Headers that do not have that layout are read as they are."""
    out = {}
    names = [f"d{k}_input" for k in GATE_ORDER]
    first = headers.get(names[0])
    if first is not None and len(first[0]) == 2 and all(headers.get(n) == first
                                                        for n in names):
        (T, H), dtype = first
        dz = np.empty((T, 4 * H), dtype.newbyteorder("="))
        out.update({n: dz[:, k * H:(k + 1) * H] for k, n in enumerate(names)})
    xc = headers.get("xc")
    if xc is not None and len(xc[0]) == 2:
        (T, width), dtype = xc
        out["xc"] = np.empty((T + 1, width), dtype.newbyteorder("="))[:T]
    return out


def load_model_trace(path) -> ModelTrace:
    """A ModelTrace from a trace file of format 1 (as a one-layer model) or 2, every array
    checked against ``meta``."""
    path = Path(path)
    found = {}

    def first(raw):
        found["meta"] = meta = trace_meta(raw, path)
        return select_trace_v1 if meta["version"] == 1 else None

    arrays = read_npz(path, kinds={"meta": "U", "vocab": "U", **TRACE_KINDS},
                      default_kinds="fiu", first=first,
                      place=lambda h: place_trace_v1(h) if found["meta"]["version"] == 1
                      else {})
    meta = found["meta"]
    if meta["version"] == 1:
        return model_trace_of(trace_from_arrays(arrays, meta, str(path)))
    return model_trace_from_arrays(arrays, meta, str(path))


def trace_from_arrays(arrays: dict, meta: dict, where: str) -> Trace:  # noqa: C901, PLR0912, PLR0915 - one check per field of the file, in the file's order; each is a line and an early UserError
    """A Trace from its arrays (named as in a trace file) and the trace part of its meta
    (variant, loss, dtype, steps, inputs, hidden), checked as a trace file is; problems
    are UserErrors starting with ``where``. Used for trace files and saved sessions."""
    for key, typ in (("variant", str), ("dtype", str), ("steps", int), ("inputs", int),
                     ("hidden", int)):
        if not isinstance(meta.get(key), typ) or isinstance(meta.get(key), bool):
            raise UserError(f"{where}: 'meta' lacks a valid {show(key)}")
    from .cell import VARIANTS
    if meta["variant"] not in VARIANTS:
        raise UserError(f"{where}: unknown variant {quote(meta['variant'])}")
    if meta["dtype"] not in ("float64", "float32"):
        raise UserError(f"{where}: unsupported dtype {quote(meta['dtype'])}")
    T, X, H = meta["steps"], meta["inputs"], meta["hidden"]
    if min(T, X, H) < 1:
        raise UserError(f"{where}: sizes in 'meta' must be positive")
    params = params_from_arrays(arrays, where)
    if params.hidden != H or params.inputs != X or params.dtype.name != meta["dtype"]:
        raise UserError(f"{where}: parameters do not match 'meta' (X={X}, H={H}, {meta['dtype']})")
    loss_params = {k[len(LOSS_PREFIX):]: v for k, v in arrays.items()
                   if k.startswith(LOSS_PREFIX) and not k.endswith("_diff")}
    loss_grads = {k[len(LOSS_PREFIX):]: v for k, v in arrays.items()
                  if k.startswith(LOSS_PREFIX) and k.endswith("_diff")}
    try:
        loss = make_loss(meta.get("loss", "toy"), loss_params)
    except (ValueError, TypeError) as err:
        raise UserError(f"{where}: bad loss description ({_first_line(err)})") from None
    if getattr(loss, "hidden", H) != H:
        raise UserError(f"{where}: the read-out expects H={loss.hidden}, the cell has H={H}")
    for key, grad in loss_grads.items():
        param = loss_params.get(key[: -len("_diff")])
        if param is None or grad.shape != param.shape:
            raise UserError(f"{where}: {LOSS_PREFIX}{key} does not match a read-out parameter")
    x = arrays.get("x")
    if x is None or x.shape != (T, X):
        raise UserError(f"{where}: 'x' must have shape ({T}, {X})")
    if "y" not in arrays:
        raise UserError(f"{where}: no targets 'y'")
    for name, a in (("x", x), ("y", arrays["y"])):
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise UserError(f"{where}: '{name}' contains NaN or Inf")
    try:
        loss.check_targets(arrays["y"], T)
    except ValueError as err:
        raise UserError(f"{where}: {err}") from None
    wide = {"xc", "dxc"}
    recorded = {}
    for name in STEP_NAMES + GRAD_NAMES:
        if name not in arrays:
            raise UserError(f"{where}: missing recorded array {show(name)}")
        a = arrays[name]
        if name in GRAD_NAMES:
            want = getattr(params, name[:-5]).shape
        elif name == "loss":
            want = (T,)
        else:
            want = (T, X + H) if name in wide else (T, H)
        if a.shape != want:
            raise UserError(f"{where}: {show(name)} has shape {a.shape}, expected {want}")
        if a.dtype != params.dtype:
            raise UserError(f"{where}: {show(name)} has dtype {a.dtype}, expected {params.dtype}")
        recorded[name] = a       # NaN/Inf allowed here: such passes are what one debugs
    x = _share_copies(recorded, x.astype(params.dtype, copy=False))
    dz = _placed_gates(recorded)
    return Trace(params, x, arrays["y"], recorded, meta["variant"], loss, loss_grads,
                 dz=stack_gate_gradients(recorded) if dz is None else dz)


def _parent(a: np.ndarray, shape: tuple) -> np.ndarray | None:
    """The array of ``shape`` that ``a`` is a view of (as ``place_trace_v1`` makes), or
    None."""
    base = a.base
    return base if isinstance(base, np.ndarray) and base.shape == shape else None


def _placed_gates(recorded: dict) -> np.ndarray | None:
    """``Trace.dz`` when the four gate gradients were read into it (``place_trace_v1``):
    each the slice of one (T, 4H) buffer that ``stack_gate_gradients`` would make."""
    names = [f"d{k}_input" for k in GATE_ORDER]
    T, H = recorded[names[0]].shape
    dz = _parent(recorded[names[0]], (T, 4 * H))
    if dz is None or not dz.flags.c_contiguous:
        return None
    for k, n in enumerate(names):
        a = recorded[n]
        if _parent(a, (T, 4 * H)) is not dz or a.strides != dz.strides or \
                a.ctypes.data != dz.ctypes.data + k * H * dz.itemsize:
            return None
    return dz


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` and ``b`` hold the same bytes entry for entry (NaN payloads and the sign of
    zero included: sharing one buffer then changes no value)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    raw = np.dtype(f"u{a.dtype.itemsize}")
    return bool(np.array_equal(a.view(raw), b.view(raw)))


def _share_copies(recorded: dict, x: np.ndarray) -> np.ndarray:
    """A format-1 file stores, beside ``x``, ``h`` and ``dxc``, what the recorder keeps as
    views of them: ``xc = [x, h(t-1)]`` (h(-1) = 0) and ``bottom_diff_h = dxc[:, X:]``.
    Where the file's copies hold exactly those bits, ``recorded`` is given the recorder's
    layout (one buffer for x, xc and h; bottom_diff_h a view of dxc), so the trace holds
    each value once; a file whose copies differ keeps them apart (what it recorded is what
    it shows). Returns the ``x`` to use."""
    xc, h, dxc = recorded["xc"], recorded["h"], recorded["dxc"]
    T, X = x.shape
    if _same_bits(recorded["bottom_diff_h"], dxc[:, X:]):
        recorded["bottom_diff_h"] = dxc[:, X:]
    zero = np.zeros((1, xc.shape[1] - X), xc.dtype)
    if not (_same_bits(xc[:, :X], x) and _same_bits(xc[1:, X:], h[:-1])
            and _same_bits(xc[:1, X:], zero)):
        return x
    buf = _parent(xc, (T + 1, xc.shape[1]))           # read into its place: fill row T
    if buf is None or xc.ctypes.data != buf.ctypes.data or not buf.flags.c_contiguous:
        buf = np.empty((T + 1, xc.shape[1]), xc.dtype)  # row t: [x(t), h(t-1)]
        buf[:T] = xc
    buf[T, :X] = 0.0                                    # row T: [0, h(T-1)]
    buf[T, X:] = h[-1]
    recorded.update(xc=buf[:T], h=buf[1:, X:])
    return buf[:T, :X]
