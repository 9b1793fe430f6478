"""stigmer's import recorder, for test-binary's import trace.

test-binary puts this folder first on PYTHONPATH and STIGMER_IMPORT_TRACE names an output folder; every
Python process of the traced command (subprocesses and forked children too) then writes the modules it
imports after start-up, with their files, to <folder>/<pid>.jsonl:
  - a first line {"pid", "top", "argv"} as soon as it starts ("top": the first traced process, the command itself);
  - one line {"name", "file", "kind"} per module, appended and flushed as it is imported, so a process killed
    by a timeout or a signal still leaves what it imported;
  - a last line {"modules": {...}} at exit: at interpreter exit, at os._exit (forked multiprocessing children
    end there) and in a forked child at its own exit.
The environment's own sitecustomize, which this one shadows, still runs.
"""
import atexit
import json
import os
import sys
import sysconfig
import threading

_OUTPUT = os.environ.get("STIGMER_IMPORT_TRACE")
# The first traced process marks itself in the environment its subprocesses inherit.
_PARENT_VARIABLE = "STIGMER_IMPORT_TRACE_PARENT"
_AT_START = set(sys.modules)
_state = {"pid": None, "handle": None, "dumped": False}
_lock = threading.Lock()
_busy = threading.local()


def _stdlib_dirs():
    paths = sysconfig.get_paths()
    return [os.path.realpath(p) + os.sep for p in {paths["stdlib"], paths["platstdlib"]} if p]


def _kind(path, stdlib_dirs):
    """site (an installed distribution), stdlib, or source (anything else: the service, local libraries)."""
    parts = path.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return "site"
    if any(path.startswith(directory) for directory in stdlib_dirs):
        return "stdlib"
    return "source"


def _write(record):
    """Appends one line to this process's record, opening it first in a new (or newly forked) process."""
    with _lock:
        try:
            if _state["pid"] != os.getpid():
                top = _PARENT_VARIABLE not in os.environ
                if top:
                    os.environ[_PARENT_VARIABLE] = str(os.getpid())
                os.makedirs(_OUTPUT, exist_ok=True)
                handle = open(os.path.join(_OUTPUT, f"{os.getpid()}.jsonl"), "a", encoding="utf-8")
                _state.update(pid=os.getpid(), handle=handle, dumped=False)
                handle.write(json.dumps({"pid": os.getpid(), "top": top, "argv": sys.argv}) + "\n")
            if record is not None:
                _state["handle"].write(json.dumps(record) + "\n")
            _state["handle"].flush()
        except (OSError, ValueError):
            pass


def _dump():
    """The last line: every module this process holds beyond start-up, by its own name."""
    if _state["dumped"] and _state["pid"] == os.getpid():
        return
    stdlib_dirs = _stdlib_dirs()
    modules = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name in _AT_START or name in ("__main__", "__mp_main__") or not isinstance(path, str):
            continue  # start-up modules, the script itself, built-in and namespace packages
        if getattr(module, "__name__", name) != name:
            continue  # an alias (requests.packages.urllib3 is urllib3): the module is recorded under its own name
        real = os.path.realpath(path)
        modules[name] = {"file": real, "kind": _kind(real, stdlib_dirs)}
    _write({"modules": modules})
    _state["dumped"] = True


class _ImportRecorder:
    """First on sys.meta_path: finds each module with the finders after it and records what they found."""

    def __init__(self):
        self.stdlib_dirs = _stdlib_dirs()

    def find_spec(self, name, path=None, target=None):
        if getattr(_busy, "active", False):
            return None
        _busy.active = True
        try:
            import importlib._bootstrap

            spec = importlib._bootstrap._find_spec(name, path, target)
        finally:
            _busy.active = False
        origin = getattr(spec, "origin", None)
        if spec is not None and getattr(spec, "has_location", False) and isinstance(origin, str):
            real = os.path.realpath(origin)
            _write({"name": name, "file": real, "kind": _kind(real, self.stdlib_dirs)})
        return spec


def _start_child_record():
    global _lock
    _lock = threading.Lock()  # another thread of the parent may have held it at the fork
    _write(None)


def _exit_with_record(code):
    try:
        _dump()
    finally:
        _real_exit(code)


def _chain_to_the_environments_sitecustomize():
    here = os.path.dirname(os.path.abspath(__file__))
    import importlib.machinery
    import importlib.util

    search = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", search)
    if spec and spec.loader:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_chain_to_the_environments_sitecustomize()
_AT_START.update(sys.modules)

if _OUTPUT:
    _write(None)
    atexit.register(_dump)
    # Forked children (multiprocessing's fork and forkserver) never run atexit: they end in os._exit.
    _real_exit = os._exit
    os._exit = _exit_with_record
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_start_child_record)
    sys.meta_path.insert(0, _ImportRecorder())
