"""Reuses PyInstaller's analysis when an edit adds no import (run_pyinstaller.py switches it on).

PyInstaller re-runs its whole module-graph analysis (most of a build) whenever any collected source file has a
newer mtime, yet a typical edit changes a function body, not what the module imports. After every analysis
this records, per Analysis of the spec, in its work folder:
  - each module of the service and its local libraries (sources outside the build environment): the sha256 of
    its content and an import fingerprint read from its AST (import statements anywhere, import_module and
    __import__ calls with their argument, __all__);
  - the module files in each of their package folders;
  - the spec, the user hooks, the installed distributions, PyInstaller's and Python's versions.
On the next build, if only such modules changed (by content, never by mtime) and their fingerprints did not, the
previous analysis is reused: the changed modules are compiled again, the others' code objects are taken from the
previous PYZ, and the archive, the executable or the folder are assembled again. Anything else takes PyInstaller's
full path. One line says which path and why. The result is byte-identical to a clean build (e2e: incremental).

It also fixes a mutation that kept PyInstaller's own cache from ever hitting: initialize_modgraph() appends
"__main__" to the spec's excludes list in place, so the saved excludes never equal the next build's.
"""
import ast
import hashlib
import importlib.metadata
import json
import marshal
import os
import shutil
import sys
import types
import zlib

FORMAT = 1  # bump when the record or the decision changes
IMPORT_FUNCTIONS = {"import_module", "__import__"}
ALL_BYTES = bytes(range(256))


def say(message):
    print(f"stigmer: {message}", file=sys.stderr, flush=True)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


class _ImportCollector(ast.NodeVisitor):
    """What a module imports, in source order (an import moved elsewhere changes it: conservative)."""

    def __init__(self):
        self.items = []

    def visit_Import(self, node):
        for alias in node.names:
            self.items.append(["import", alias.name])

    def visit_ImportFrom(self, node):
        self.items.append(["from", node.level, node.module or "", sorted(alias.name for alias in node.names)])

    def visit_Call(self, node):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in IMPORT_FUNCTIONS:
            # A literal names a module; anything else (an f-string) is kept as its shape, so editing it counts too.
            self.items.append(["call", name] + [ast.dump(arg) if not isinstance(arg, ast.Constant) else repr(arg.value) for arg in node.args])
        self.generic_visit(node)

    def _all(self, targets, value):
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and value is not None:
            self.items.append(["__all__", ast.dump(value)])

    def visit_Assign(self, node):
        self._all(node.targets, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._all([node.target], node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._all([node.target], node.value)
        self.generic_visit(node)


def import_fingerprint(path):
    """The imports of a source file, or None when it does not parse."""
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        tree = ast.parse(source, path)
    except (SyntaxError, ValueError):
        return None
    collector = _ImportCollector()
    collector.visit(tree)
    return collector.items


def describe_change(relative, old, new):
    """Why a changed fingerprint takes the full path: '<file> imports <module> now', '... no longer imports ...'."""
    def named(items):
        found = []
        for item in items:
            if item[0] == "import":
                found.append(item[1])
            elif item[0] == "from":
                base = "." * item[1] + item[2]
                found.extend(f"{base}.{n}" if base and not base.endswith(".") else f"{base}{n}" for n in item[3])
            elif item[0] == "call" and len(item) > 2 and item[2][:1] in "'\"":
                found.append(item[2].strip("'\""))
        return found

    def kind(items, which):
        return [item for item in items if item[0] == which]

    before, after = named(old), named(new)
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    if added:
        return f"{relative} imports {', '.join(added)} now"
    if removed:
        return f"{relative} no longer imports {', '.join(removed)}"
    if kind(old, "__all__") != kind(new, "__all__"):
        return f"{relative} changed __all__"
    if kind(old, "call") != kind(new, "call"):
        return f"{relative} changed an import_module() or __import__() call"
    return f"{relative} moved its imports"


def module_listing(folder):
    """The module files of a folder: .py files, extensions and subpackages (folders with __init__.py)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    listing = []
    for name in names:
        full = os.path.join(folder, name)
        if name.endswith((".py", ".so", ".pyd")) and os.path.isfile(full):
            listing.append(name)
        elif name != "__pycache__" and os.path.isfile(os.path.join(full, "__init__.py")):
            listing.append(name + "/")
    return sorted(listing)


def environment_roots():
    """Folders of the build environment (the venv, the base Python, site-packages): nothing there is local."""
    import site
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(sysconfig.get_paths().values())
    try:
        roots.update(site.getsitepackages())
    except AttributeError:
        pass
    return [os.path.realpath(r) for r in roots if r]


def is_under(path, roots):
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def distributions_digest():
    pairs = sorted({(d.metadata["Name"] or "", d.version or "") for d in importlib.metadata.distributions()})
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def as_compiled(value, done=None):
    """A module's code as compile() makes it. marshal.loads gives each one-byte bytes constant an object of its own,
    where compile() gives the shared one, and marshal flags a shared object as a reference: the bytes written would
    differ. Objects shared within the module stay shared (`done`: id of an original -> its replacement)."""
    done = {} if done is None else done
    if id(value) in done:
        return done[id(value)]
    result = value
    if isinstance(value, bytes) and len(value) == 1:
        result = ALL_BYTES[value[0]:value[0] + 1]  # a one-byte slice is the shared object (value[0:1] is value itself)
    elif isinstance(value, tuple):
        items = tuple(as_compiled(item, done) for item in value)
        result = value if all(a is b for a, b in zip(items, value)) else items
    elif isinstance(value, types.CodeType):
        consts = as_compiled(value.co_consts, done)
        result = value if consts is value.co_consts else value.replace(co_consts=consts)
    done[id(value)] = result
    return result


def read_pyz(path):
    """({module name: code object}, {marshalled entry: its compressed bytes}) of a PYZ archive, every entry
    un-marshalled (so this process interns the same strings a full build has, and marshals byte-identical
    output); None when it cannot be read."""
    from PyInstaller.compat import BYTECODE_MAGIC

    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if data[:4] != b"PYZ\0" or data[4:8] != BYTECODE_MAGIC:
            return None
        toc_offset = int.from_bytes(data[8:12], "big", signed=True)
        code = {}
        compressed = {}
        for name, (typecode, offset, length) in marshal.loads(data[toc_offset:]):
            if length:
                blob = data[offset:offset + length]
                entry = zlib.decompress(blob)
                compressed[entry] = blob
                code[name] = as_compiled(marshal.loads(entry))
        return code, compressed
    except Exception:  # noqa: BLE001 - a damaged archive means: compile everything, as PyInstaller does
        return None


class MemoizedZlib:
    """zlib for PyInstaller's archive writers, answering compress() from known results (same input, same level)."""

    def __init__(self, compressed):
        from PyInstaller.archive.writers import ZlibArchiveWriter

        self.compressed = compressed
        self.level = ZlibArchiveWriter._COMPRESSION_LEVEL

    def compress(self, data, level=-1):
        known = self.compressed.get(data) if level == self.level else None
        return known if known is not None else zlib.compress(data, level)

    def __getattr__(self, name):
        return getattr(zlib, name)


class AnalysisReuse:
    """The patches and the state of one PyInstaller run."""

    def __init__(self):
        self.records = {}  # record path -> record to write once the build succeeded
        self.changed_modules = None  # names of the modules to compile again when the analysis was reused
        self.force_assembly = False

    # -- the record --------------------------------------------------------------------------------------------

    def record_path(self, analysis):
        return os.path.join(os.path.dirname(analysis.tocfilename), f"stigmer-{os.path.splitext(analysis.tocbasename)[0]}.json")

    def context(self, analysis):
        """What any change of must take the full path: tools, spec, user hooks, installed distributions."""
        from PyInstaller import __version__
        from PyInstaller.config import CONF
        from PyInstaller.depend.analysis import HOOK_PRIORITY_USER_HOOKS

        hooks = {}
        for folder, priority in analysis.hookspath:
            if priority != HOOK_PRIORITY_USER_HOOKS or not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if name.endswith(".py"):
                    hooks[os.path.join(folder, name)] = sha256_of(os.path.join(folder, name))
        return {
            "format": FORMAT,
            "pyinstaller": __version__,
            "python": sys.version,
            "executable": sys.executable,
            "spec": sha256_of(CONF["spec"]),
            "hooks": hooks,
            "distributions": distributions_digest(),
            # The libraries PyInstaller assembles are stripped (or not) into its cache: whether strip is there and
            # which cache is used change the bytes without changing the analysis.
            "strip": shutil.which("strip"),
            "cachedir": os.environ.get("PYINSTALLER_CONFIG_DIR"),
        }

    def local_modules(self, analysis):
        """(name, source, kind) of the collected modules that are the service's or its local libraries'."""
        from PyInstaller.config import CONF

        environment = environment_roots() + [os.path.realpath(CONF["workpath"])]
        spec_dir = os.path.realpath(os.path.dirname(CONF["spec"]))
        roots = [os.path.realpath(p) for p in analysis.pathex] + [spec_dir]
        found = []
        for kind, toc in (("pure", analysis.pure), ("script", analysis.scripts)):
            for name, source, _ in toc:
                if not source or source == "-" or not source.endswith(".py"):
                    continue
                real = os.path.realpath(source)
                if is_under(real, roots) and not is_under(real, environment):
                    found.append((name, source, kind))
        return found

    def make_record(self, analysis, context, fingerprints=None):
        modules = {}
        folders = {}
        for name, source, kind in self.local_modules(analysis):
            fingerprint = (fingerprints or {}).get(source)
            if fingerprint is None:
                fingerprint = import_fingerprint(source)
            modules[source] = {"name": name, "kind": kind, "sha256": sha256_of(source), "imports": fingerprint}
            folder = os.path.dirname(source)
            if folder not in folders:
                folders[folder] = module_listing(folder)
        return {**context, "modules": modules, "folders": folders}

    def load_record(self, path):
        """The record of the last build, removed from disk: a build that fails leaves none behind."""
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            record = None
        try:
            os.remove(path)
        except OSError:
            pass
        return record

    def write_records(self):
        for path, record in self.records.items():
            partial = f"{path}.{os.getpid()}.tmp"
            with open(partial, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
            os.replace(partial, path)

    # -- the decision ------------------------------------------------------------------------------------------

    def decide(self, analysis, data, last_build, record, context):
        """("reuse", [changed module sources], fingerprints) or ("full", reason, None)."""
        from PyInstaller.building.utils import _check_guts_eq, _check_guts_toc, _check_guts_toc_mtime
        from PyInstaller.config import CONF
        from PyInstaller.utils import misc

        if record is None:
            return "full", "no record of the last analysis in the work folder", None
        if analysis.noarchive:  # the modules ship as .pyc files: no PYZ to take unchanged code from
            return "full", "noarchive=True in the spec", None
        for key, what in (("format", "stigmer"), ("pyinstaller", "PyInstaller"), ("python", "Python"), ("executable", "the build environment"),
                          ("spec", os.path.basename(CONF["spec"])), ("hooks", "a user hook"), ("distributions", "the installed distributions"),
                          ("strip", "strip on PATH"), ("cachedir", "PyInstaller's library cache")):
            if record.get(key) != context[key]:
                return "full", f"{what} changed", None
        if len(data) != len(analysis._GUTS):
            return "full", "the last analysis is unreadable", None
        modules = record.get("modules", {})
        for folder, listing in record.get("folders", {}).items():
            if module_listing(folder) != listing:
                return "full", f"a module was added to or removed from {self.shown(folder)}", None
        # PyInstaller's own checks, except the mtimes of the local modules: their content decides below.
        for attr, check in analysis._GUTS:
            if check in (_check_guts_eq, _check_guts_toc):
                if check(attr, data[attr], getattr(analysis, attr), last_build):
                    return "full", f"the spec's {attr} changed", None
            elif check is _check_guts_toc_mtime:
                for _, source, _ in data[attr]:
                    tracked = attr in ("pure", "scripts") and source in modules
                    if not tracked and misc.mtime(source) > last_build:
                        return "full", f"{self.shown(source)} changed", None
        for script in analysis.inputs:
            if script not in modules and misc.mtime(script) > last_build:
                return "full", f"{self.shown(script)} changed", None
        changed = []
        fingerprints = {}
        for source, entry in modules.items():
            try:
                digest = sha256_of(source)
            except OSError:
                return "full", f"{self.shown(source)} was removed", None
            if digest == entry["sha256"]:
                continue
            fingerprint = import_fingerprint(source)
            if fingerprint is None:
                return "full", f"{self.shown(source)} does not compile", None
            if fingerprint != entry["imports"]:
                return "full", describe_change(self.shown(source), entry["imports"], fingerprint), None
            if any(item[0] == "import" and item[1].split(".")[0] == "ctypes" or item[0] == "from" and item[2].split(".")[0] == "ctypes" for item in fingerprint):
                return "full", f"{self.shown(source)} uses ctypes (its libraries are found in the code)", None
            hook = self.hook_for(analysis, entry["name"])
            if hook:
                return "full", f"{self.shown(source)} has a hook ({self.shown(hook)}), whose output may depend on it", None
            fingerprints[source] = fingerprint
            changed.append(source)
        return "reuse", changed, fingerprints

    def hook_for(self, analysis, module):
        parts = module.split(".")
        for folder, _ in analysis.hookspath:
            for i in range(len(parts), 0, -1):
                candidate = os.path.join(folder, f"hook-{'.'.join(parts[:i])}.py")
                if os.path.isfile(candidate):
                    return candidate
        return None

    def shown(self, path):
        try:
            relative = os.path.relpath(path)
        except ValueError:
            return path
        return path if relative.startswith(".." + os.sep + "..") else relative

    # -- the patches -------------------------------------------------------------------------------------------

    def install(self):
        from PyInstaller.archive import writers
        from PyInstaller.building import api, build_main

        reuse = self
        initialize_modgraph = build_main.initialize_modgraph

        def initialize_modgraph_on_a_copy(excludes=(), user_hook_dirs=()):
            # PyInstaller appends "__main__" to the list it is given: give it a copy, so the spec's excludes saved
            # with the analysis equal the next build's and its cache can hit.
            return initialize_modgraph(excludes=list(excludes or ()), user_hook_dirs=user_hook_dirs)

        build_main.initialize_modgraph = initialize_modgraph_on_a_copy
        Analysis = build_main.Analysis
        assemble_analysis = Analysis.assemble

        def check_analysis(self, data, last_build):
            path = reuse.record_path(self)
            record = reuse.load_record(path)
            context = reuse.context(self)
            decision, detail, fingerprints = reuse.decide(self, data, last_build, record, context)
            if decision == "full":
                say(f"full analysis: {detail}")
                self._stigmer_context = context
                return True
            self.scripts = data["scripts"]
            self.pure = data["pure"]
            self.binaries = data["binaries"]
            self.zipfiles = data["zipfiles"]
            self.zipped_data = data["zipped_data"]
            self.datas = data["datas"]
            reuse.records[path] = reuse.make_record(self, context, fingerprints={s: m["imports"] for s, m in record["modules"].items()})
            if detail:
                names = {record["modules"][source]["name"] for source in detail}
                reuse.changed_modules = (reuse.changed_modules or set()) | names
                reuse.force_assembly = True
                say(f"analysis reused: {len(detail)} module{'s' if len(detail) > 1 else ''} changed, imports unchanged ({', '.join(reuse.shown(s) for s in detail[:3])}{', ...' if len(detail) > 3 else ''})")
            else:
                say("analysis reused: no module changed")
            return False

        def assemble_and_record(self):
            if not hasattr(self, "_stigmer_context"):
                say("full analysis: first build in this work folder")
                self._stigmer_context = reuse.context(self)
            assemble_analysis(self)
            reuse.records[reuse.record_path(self)] = reuse.make_record(self, self._stigmer_context)

        Analysis._check_guts = check_analysis
        Analysis.assemble = assemble_and_record

        assemble_pyz = api.PYZ.assemble

        def assemble_pyz_reusing_code(self):
            if reuse.changed_modules is not None and not self.code_dict:
                previous = read_pyz(self.name)
                if previous is None:
                    say("the previous PYZ is unreadable: every module is compiled again")
                else:
                    code, compressed = previous
                    for name, _, _ in self.toc:
                        if name not in reuse.changed_modules and name in code:
                            self.code_dict[name] = code[name]
                    # zlib gives the same bytes for the same input: an entry marshalled as before is not compressed again.
                    writers.zlib = MemoizedZlib(compressed)
                    try:
                        return assemble_pyz(self)
                    finally:
                        writers.zlib = zlib
            assemble_pyz(self)

        api.PYZ.assemble = assemble_pyz_reusing_code
        # A changed module is written again even when its mtime says otherwise (same second, an older mtime put back).
        for target in (api.PYZ, api.PKG, api.EXE, api.COLLECT):
            check = target._check_guts

            def check_or_force(self, data, last_build, check=check):
                return True if reuse.force_assembly else check(self, data, last_build)

            target._check_guts = check_or_force
