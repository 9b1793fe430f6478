"""stigmer's import recorder, for test-binary's import trace.

test-binary puts this folder first on PYTHONPATH and STIGMER_IMPORT_TRACE names an output folder; every
Python process of the traced command (subprocesses too) then writes, at exit, the modules it imported
after start-up, with their files, to <folder>/<pid>.json. The environment's own sitecustomize, which this
one shadows, still runs.
"""
import atexit
import json
import os
import sys
import sysconfig

_OUTPUT = os.environ.get("STIGMER_IMPORT_TRACE")
_AT_START = set(sys.modules)


def _kind(path, stdlib_dirs):
    """site (an installed distribution), stdlib, or source (anything else: the service, local libraries)."""
    parts = path.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return "site"
    if any(path.startswith(directory) for directory in stdlib_dirs):
        return "stdlib"
    return "source"


def _dump():
    if not _OUTPUT:
        return
    paths = sysconfig.get_paths()
    stdlib_dirs = [os.path.realpath(p) + os.sep for p in {paths["stdlib"], paths["platstdlib"]} if p]
    modules = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name in _AT_START or name in ("__main__", "__mp_main__") or not isinstance(path, str):
            continue  # start-up modules, the script itself, built-in and namespace packages
        if getattr(module, "__name__", name) != name:
            continue  # an alias (requests.packages.urllib3 is urllib3): the module is recorded under its own name
        real = os.path.realpath(path)
        modules[name] = {"file": real, "kind": _kind(real, stdlib_dirs)}
    try:
        os.makedirs(_OUTPUT, exist_ok=True)
        with open(os.path.join(_OUTPUT, f"{os.getpid()}.json"), "w", encoding="utf-8") as handle:
            json.dump({"argv": sys.argv, "modules": modules}, handle)
    except OSError:
        pass


if _OUTPUT:
    atexit.register(_dump)


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
