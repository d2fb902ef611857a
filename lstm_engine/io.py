"""Reading and writing the engine's files: parameters, inputs/targets, traces.

Reading never unpickles and never trusts a header: every ``.npy`` (alone or inside an
``.npz``) is checked for its dtype and for a declared size that matches the bytes that
are really there, *before* anything is allocated; then names, shapes, dtypes and
finiteness are checked. Every problem is a ``UserError`` whose message is one line
naming the file. Writing goes to a temporary file in the same folder, then ``os.replace``.
The formats are documented in ``docs/file-formats.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import UserError
from .losses import make_loss
from .params import PARAM_NAMES, Params, check_params
from .trace import GRAD_NAMES, STEP_NAMES, Trace

TRACE_FORMAT = "lstm-viz-trace"
TRACE_VERSION = 1
LOSS_PREFIX = "loss."          # a loss's own parameters and their gradients: loss.wy, loss.wy_diff


def memory_limit() -> int:
    """Bytes a file may ask us to allocate: half the memory available right now."""
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = 8 * 2**30
    return max(avail // 2, 64 * 2**20)


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


def check_regular_file(path: Path) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{path}: is not a regular file")


def _check_dtype(dtype: np.dtype, kinds: str, what: str) -> None:
    if dtype.kind not in kinds:
        names = {"f": "floating point", "i": "integer", "u": "integer", "U": "text", "b": "bool"}
        want = " or ".join(dict.fromkeys(names[k] for k in kinds))
        raise UserError(f"{what} has dtype {dtype}, expected {want}")


def load_npy(path, kinds: str = "fiu", what: str | None = None) -> np.ndarray:
    """Load one ``.npy`` array of a numeric dtype, checked before allocation."""
    path = Path(path)
    what = what or str(path)
    check_regular_file(path)
    try:
        with open(path, "rb") as fp:
            shape, fortran, dtype = _read_header(fp, what)
            _check_dtype(dtype, kinds, what)
            declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            present = os.fstat(fp.fileno()).st_size - fp.tell()
            if declared != present:
                raise UserError(f"{what}: header declares {declared} bytes of data but the file "
                                f"holds {present} (truncated or damaged)")
            if declared > memory_limit():
                raise UserError(f"{what}: {declared / 2**30:.1f} GiB would not fit in memory")
            fp.seek(0)                                      # read_array reads the header again
            return np.lib.format.read_array(fp, allow_pickle=False)
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
# (np.savez writes uncompressed; savez_compressed of real data rarely exceeds ~10x).
BOMB_SIZE = 64 * 2**20
BOMB_RATIO = 1000


def read_npz(path, kinds: dict[str, str] | None = None, default_kinds: str = "fiub",
             select=None) -> dict:
    """The arrays of an ``.npz`` archive by name, each checked before it is allocated.

    ``kinds`` maps a name to its allowed dtype kinds (numpy's one-letter codes);
    ``select(name) -> bool`` picks the members to read (others are never decompressed).
    """
    path = Path(path)
    check_regular_file(path)
    kinds = kinds or {}
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if not members:
                raise UserError(f"{path}: the archive is empty")
            plan, total = [], 0
            for m in members:
                if not m.filename.endswith(".npy"):
                    raise UserError(f"{path}: unexpected member {m.filename!r} (not a .npy array)")
                name = m.filename[:-4]
                if select is not None and not select(name):
                    continue
                what = f"{path}: array {name!r}"
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
                declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if offset + declared != m.file_size:
                    raise UserError(f"{what} declares {declared} bytes but holds "
                                    f"{m.file_size - offset} (truncated or damaged)")
                total += declared
                plan.append((m, name, what))
            if total > memory_limit():
                raise UserError(f"{path}: {total / 2**30:.1f} GiB of arrays "
                                "would not fit in memory")
            out = {}
            for m, name, _ in plan:
                with zf.open(m) as fp:
                    out[name] = np.lib.format.read_array(fp, allow_pickle=False)
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


def _file_mode(path: Path) -> int:
    """The mode a new file gets (0o666 less the umask), or the replaced file's mode."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def check_writable(path) -> Path:
    """Refuse, in one line, an output path whose folder is missing or read-only, or that
    names a folder: checked before a long computation, not after it."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give a file name")
    if not folder.is_dir():
        raise UserError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{path}: the folder {folder} is not writable")
    return path


def _write_failed(path: Path, err: OSError, existed: bool) -> UserError:
    reason = " ".join(str(err.strerror or err).split()) or type(err).__name__
    kept = "; the file that was there is unchanged" if existed else ""
    return UserError(f"{path}: cannot write ({reason}){kept}")


@contextlib.contextmanager
def atomic_write(path):
    """Open a temporary file beside ``path`` for binary writing; on success it is flushed,
    synced and renamed over ``path``, on any failure removed: ``path`` is always either the
    old file or the complete new one. An OSError on the way (a full disk half-way through,
    a failed fsync or rename) becomes a one-line UserError naming ``path``."""
    path = check_writable(path)
    existed = path.exists()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_failed(path, err, existed) from None
    try:
        try:
            os.fchmod(fd, _file_mode(path))                 # mkstemp makes it owner-only
            fp = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with fp:
            yield fp
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _write_failed(path, err, existed) from None
        raise
    _sync_folder(path.parent)


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

def params_from_arrays(arrays: dict, what: str) -> Params:
    try:
        check_params(arrays)
    except ValueError as err:
        raise UserError(f"{what}: {err}") from None
    return Params(**{n: np.array(arrays[n]) for n in PARAM_NAMES})


def save_params(path, params: Params) -> None:
    save_npz_atomic(path, params.as_dict())


def load_params(path) -> Params:
    """Parameters from an ``.npz`` holding ``wg wi wf wo bg bi bf bo`` (a trace file works too)."""
    arrays = read_npz(path, kinds={"meta": "U", **dict.fromkeys(PARAM_NAMES, "f")})
    return params_from_arrays(arrays, str(path))


# ---- traces -------------------------------------------------------------------------

def save_trace(path, trace: Trace) -> None:
    meta = {"format": TRACE_FORMAT, "version": TRACE_VERSION, **trace.meta()}
    arrays = {**trace.params.as_dict(), "x": trace.x, "y": trace.y,
              "meta": np.array(json.dumps(meta))}
    arrays.update({n: trace[n] for n in STEP_NAMES + GRAD_NAMES})
    arrays.update({LOSS_PREFIX + k: v for k, v in trace.loss_params.items()})
    arrays.update({LOSS_PREFIX + k: v for k, v in trace.loss_grads.items()})
    save_npz_atomic(path, arrays)


def _parse_meta(arrays: dict, path: Path) -> dict:
    if "meta" not in arrays:
        raise UserError(f"{path}: no 'meta' entry; this is not a trace file")
    raw = arrays["meta"]
    if raw.shape != ():
        raise UserError(f"{path}: 'meta' must be a single JSON string")
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, RecursionError):
        raise UserError(f"{path}: 'meta' is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != TRACE_FORMAT:
        raise UserError(f"{path}: 'meta' does not describe an {TRACE_FORMAT} file")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise UserError(f"{path}: 'meta' has no valid format version")
    if version > TRACE_VERSION:
        raise UserError(f"{path}: written in trace format {version} by a newer lstm-viz; "
                        f"this version reads format {TRACE_VERSION}")
    return meta


# The arrays a trace holds (beside the loss's own ``loss.*`` entries) and their dtype kinds.
TRACE_ARRAYS = PARAM_NAMES + STEP_NAMES + GRAD_NAMES + ("x", "y")
TRACE_KINDS = dict.fromkeys(PARAM_NAMES + STEP_NAMES + GRAD_NAMES + ("x",), "f")


def load_trace(path) -> Trace:
    """A Trace from a trace file, with every array checked against ``meta``."""
    path = Path(path)
    arrays = read_npz(path, kinds={"meta": "U", **TRACE_KINDS}, default_kinds="fiu",
                      select=lambda n: n in TRACE_ARRAYS or n == "meta"
                      or n.startswith(LOSS_PREFIX))
    return trace_from_arrays(arrays, _parse_meta(arrays, path), str(path))


def trace_from_arrays(arrays: dict, meta: dict, where: str) -> Trace:
    """A Trace from its arrays (named as in a trace file) and the trace part of its meta
    (variant, loss, dtype, steps, inputs, hidden), checked as a trace file is; problems
    are UserErrors starting with ``where``. Used for trace files and saved sessions."""
    for key, typ in (("variant", str), ("dtype", str), ("steps", int), ("inputs", int),
                     ("hidden", int)):
        if not isinstance(meta.get(key), typ) or isinstance(meta.get(key), bool):
            raise UserError(f"{where}: 'meta' lacks a valid {key!r}")
    from .cell import VARIANTS
    if meta["variant"] not in VARIANTS:
        raise UserError(f"{where}: unknown variant {meta['variant']!r}")
    if meta["dtype"] not in ("float64", "float32"):
        raise UserError(f"{where}: unsupported dtype {meta['dtype']!r}")
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
            raise UserError(f"{where}: missing recorded array {name!r}")
        a = arrays[name]
        if name in GRAD_NAMES:
            want = getattr(params, name[:-5]).shape
        elif name == "loss":
            want = (T,)
        else:
            want = (T, X + H) if name in wide else (T, H)
        if a.shape != want:
            raise UserError(f"{where}: {name!r} has shape {a.shape}, expected {want}")
        if a.dtype != params.dtype:
            raise UserError(f"{where}: {name!r} has dtype {a.dtype}, expected {params.dtype}")
        recorded[name] = a       # NaN/Inf allowed here: such passes are what one debugs
    return Trace(params, x.astype(params.dtype, copy=False), arrays["y"], recorded,
                 meta["variant"], loss, loss_grads)
