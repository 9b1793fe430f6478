"""What stigmer's generated specs call at build time, and what test-binary asks the service's Python.

Shipped with the plugin (node_modules/stigmer/python), so every spec gets the fixes of the installed stigmer
instead of carrying a frozen copy. A spec finds this module because stigmer runs PyInstaller through
run_pyinstaller.py, which lives in this folder (its folder is on sys.path).

As a program (the service's interpreter runs it, so it sees the environment that builds):
  python stigmer_spec.py modules <distribution>...   -> JSON {distribution: {"modules": [...], "namespace": bool} | null}
  python stigmer_spec.py applies <requirement>...    -> JSON {requirement: whether its marker holds here | null (unknown)}
  python stigmer_spec.py tooling <runtime distribution>... -- <command word>...
                                                     -> JSON {"distributions": [...], "files": [...]}: what a traced
                                                        command's own tools install (see test_tool_files)
"""
import hashlib
import importlib.metadata
import json
import os
import re
import sys

HOOKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks")
LAZY_INSPECT_HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime_hooks", "pyi_rth_inspect_lazy.py")
# PyInstaller's pyi_rth_inspect.py as lazy_inspect_hook knows it (sha256; PyInstaller 6.22.3): another is kept.
KNOWN_INSPECT_HOOKS = {"e9db311f97b750a30a422e0bf2bdcff7514da67cd35b0f6189ad786956ff1abc"}

_MODULE_FILE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\.py|\..*\.(so|pyd)|\.(so|pyd))$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _installed_files(distribution):
    """Paths (posix, relative to site-packages) of the importable files a distribution installed."""
    files = []
    for entry in distribution.files or []:
        parts = entry.parts
        if not parts or parts[0] in ("..", "bin", "Scripts") or parts[0].endswith((".dist-info", ".egg-info", ".data")):
            continue
        if "__pycache__" in parts or not _MODULE_FILE.match(parts[-1]):
            continue
        if not all(_IDENTIFIER.match(part) for part in parts[:-1]):
            continue
        files.append(parts)
    return files


def _modules_under(prefix, files):
    """The real modules at `prefix` (a tuple of names): a regular package or module is itself; a namespace
    package (a folder without __init__.py in this distribution) is followed down to what it holds."""
    depth = len(prefix)
    below = [parts for parts in files if parts[:depth] == prefix and len(parts) > depth]
    if any(len(parts) == depth + 1 and parts[-1].startswith("__init__.") for parts in below):
        return [".".join(prefix)]
    names = []
    children = sorted({parts[depth] for parts in below if len(parts) > depth + 1})
    for child in children:
        names.extend(_modules_under(prefix + (child,), files))
    for parts in below:
        if len(parts) == depth + 1 and not parts[-1].startswith("__init__."):
            names.append(".".join(prefix + (_MODULE_FILE.match(parts[-1]).group(1),)))
    return names


def describe_distribution(name):
    """{"modules": the modules a distribution installs, namespace packages followed down; "namespace": True
    when its top level is a namespace package}, or None when it is not installed here."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    files = _installed_files(distribution)
    tops = sorted({parts[0] if len(parts) > 1 else _MODULE_FILE.match(parts[0]).group(1) for parts in files})
    modules = []
    namespace = False
    for top in tops:
        top_files = [parts for parts in files if parts[0] == top or (len(parts) == 1 and _MODULE_FILE.match(parts[0]).group(1) == top)]
        if any(len(parts) == 1 for parts in top_files):
            modules.append(top)
            continue
        found = _modules_under((top,), top_files)
        namespace = namespace or found != [top]
        modules.extend(found)
    return {"modules": sorted(set(modules)), "namespace": namespace}


def modules_of(distributions):
    """Hidden imports for a spec: every declared distribution as the modules it really installs in the
    environment that builds (pyjwt -> jwt, protobuf -> google.protobuf, langgraph -> langgraph.graph, ...)."""
    modules = []
    for name in distributions:
        described = describe_distribution(name)
        if described is None:
            # An environment marker (tomli; python_version < "3.11") can leave a declared distribution out.
            print(f"stigmer: declared dependency {name} is not installed in the build environment: no module of it is added", file=sys.stderr)
            continue
        modules.extend(described["modules"])
    return modules


def without_declared(excludes, modules):
    """The default excludes, less any package the service declares (a service that needs pandas keeps it)."""
    tops = {module.split(".")[0] for module in modules}
    return [name for name in excludes if name not in tops]


def put_on_path(folders):
    """The service's folder and its local libraries go first on sys.path, so collect_submodules (and
    PyInstaller's isolated subprocess, which copies sys.path) finds their packages installed or not."""
    for folder in reversed(folders):
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    return folders


def lazy_inspect_hook(scripts):
    """The spec's scripts (Analysis.scripts) with PyInstaller's pyi_rth_inspect run-time hook, which imports
    inspect and zipfile at every start (30-45 ms), replaced by stigmer's, which gives inspect the same
    getsourcefile only when the program imports it. Only over the hook stigmer knows, by its content: another
    one is kept, said in one line."""
    result = []
    for name, source, kind in scripts:
        if name == "pyi_rth_inspect" and kind == "PYSOURCE":
            digest = None
            try:
                with open(source, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            except OSError:
                pass
            if digest in KNOWN_INSPECT_HOOKS:
                source = LAZY_INSPECT_HOOK
            else:
                print("stigmer: PyInstaller's pyi_rth_inspect is not the one stigmer replaces: kept (it imports inspect at every start).", file=sys.stderr)
        result.append((name, source, kind))
    return result


def entry_script(entry, service_dir, workpath):
    """The script PyInstaller starts from. `pkg.mod:func` (a [project.scripts] entry) becomes a small launcher
    in PyInstaller's work folder that calls it as the console script would; anything else is a script path."""
    match = re.match(r"^\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*$", entry)
    if not match:
        return os.path.join(service_dir, entry)
    module, function = match.groups()
    head, _, rest = function.partition(".")
    call = f"{head}{'.' + rest if rest else ''}"
    source = f"import sys\n\nfrom {module} import {head}\n\nif __name__ == \"__main__\":\n    sys.exit({call}())\n"
    os.makedirs(workpath, exist_ok=True)
    launcher = os.path.join(workpath, f"{module.split('.')[-1]}_{head}_launcher.py")
    # Rewritten only when it changes, so an unchanged entry keeps PyInstaller's work files valid.
    try:
        with open(launcher, encoding="utf-8") as handle:
            current = handle.read()
    except OSError:
        current = None
    if current != source:
        with open(launcher, "w", encoding="utf-8") as handle:
            handle.write(source)
    return launcher


def marker_applies(requirement):
    """Whether a PEP 508 requirement's marker holds in this interpreter (True without a marker), with the
    `packaging` that PyInstaller depends on; None when it cannot be told."""
    try:
        try:
            from packaging.requirements import Requirement
        except ImportError:  # an environment without PyInstaller: pip's copy
            from pip._vendor.packaging.requirements import Requirement

        marker = Requirement(requirement).marker
        return True if marker is None else bool(marker.evaluate({"extra": ""}))
    except Exception:
        return None


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse_requirement(text):
    try:
        try:
            from packaging.requirements import Requirement
        except ImportError:  # an environment without PyInstaller: pip's copy
            from pip._vendor.packaging.requirements import Requirement
        return Requirement(text)
    except Exception:
        return None


def _closure(names):
    """The installed distributions `names` need, themselves included (Requires-Dist whose marker holds here)."""
    found = {}
    pending = list(names)
    while pending:
        name = _canonical(pending.pop())
        if name in found:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found[name] = distribution
        for text in distribution.requires or []:
            requirement = _parse_requirement(text)
            if requirement and (requirement.marker is None or requirement.marker.evaluate({"extra": ""})):
                pending.append(requirement.name)
    return found


def test_tool_files(runtime, words):
    """The distributions a traced command brings itself and the service does not need: the one that provides a
    word of the command as a console script (pytest) or as a `-m` module (python -m pytest), its plugins (entry
    points in a group named after it: pytest11) and everything they require, less what the service's runtime
    distributions require. Their files are the test tools' own modules, which the binary need not hold."""
    modules = {words[i + 1].split(".")[0] for i, word in enumerate(words[:-1]) if word == "-m"}
    scripts = {os.path.basename(word) for word in words}
    distributions = list(importlib.metadata.distributions())
    tools = set()
    for distribution in distributions:
        name = distribution.metadata["Name"]
        if not name:
            continue
        if any(ep.group == "console_scripts" and ep.name in scripts for ep in distribution.entry_points):
            tools.add(_canonical(name))
        elif modules and {parts[0].split(".")[0] for parts in _installed_files(distribution)} & modules:
            tools.add(_canonical(name))
    for distribution in distributions:
        name = distribution.metadata["Name"]
        if name and any(ep.group.startswith(tool) for tool in tools for ep in distribution.entry_points if ep.group != "console_scripts"):
            tools.add(_canonical(name))
    needed = set(_closure(runtime))
    brought = {name: d for name, d in _closure(sorted(tools)).items() if name not in needed}
    files = []
    for distribution in brought.values():
        for entry in distribution.files or []:
            if entry.suffix in (".py", ".so", ".pyd"):
                files.append(os.path.realpath(str(distribution.locate_file(entry))))
    return {"distributions": sorted(brought), "files": sorted(files)}


def main(argv):
    if len(argv) >= 1 and argv[0] == "modules":
        json.dump({name: describe_distribution(name) for name in argv[1:]}, sys.stdout)
        return 0
    if len(argv) >= 1 and argv[0] == "applies":
        json.dump({requirement: marker_applies(requirement) for requirement in argv[1:]}, sys.stdout)
        return 0
    if len(argv) >= 1 and argv[0] == "tooling" and "--" in argv:
        split = argv.index("--")
        json.dump(test_tool_files(argv[1:split], argv[split + 1 :]), sys.stdout)
        return 0
    print("usage: stigmer_spec.py modules <distribution>... | applies <requirement>... | tooling <distribution>... -- <word>...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
