"""Prints, as JSON, what a PyInstaller build holds, by distribution: every archive entry and every module of its
PYZ with its size in the binary (compressed) and unpacked, mapped to the distribution that installed it through
importlib.metadata (each distribution's RECORD), or to the Python runtime, the system libraries, or the service's
own packages.

A one-file build is read from the executable (PyInstaller's CArchive and PYZ readers). A one-folder build is read
from its .tar.gz: the executable inside it, and the files of its `_internal` folder at their unpacked size.

Usage: python binary_report.py <executable or .tar.gz> <service name>
(run with the interpreter that built it: the same PyInstaller and the same installed distributions).
"""
import importlib.metadata
import json
import os
import sys
import tarfile
import tempfile
import zlib

from PyInstaller.archive.readers import PKG_ITEM_PYZ, CArchiveReader
from PyInstaller.loader.pyimod01_archive import ZlibArchiveReader

RUNTIME = f"Python {sys.version.split()[0]} (interpreter + stdlib)"
SYSTEM = "system libraries"
PYINSTALLER_MODULES = ("pyimod", "pyiboot", "pyi_rth_", "_pyi_rth_utils", "pyi_splash")


def distribution_index():
    """RECORD paths (posix, relative to site-packages) -> (name, version); top-level folders -> the same."""
    files, tops = {}, {}
    for dist in importlib.metadata.distributions():
        name, version = dist.metadata["Name"], dist.version
        if not name:
            continue
        for record in dist.files or []:
            path = str(record).replace("\\", "/")
            if path.startswith(".."):
                continue
            files.setdefault(path, (name, version))
            top = path.split("/")[0]
            if "/" in path and not top.endswith((".dist-info", ".egg-info", "__pycache__")):
                tops.setdefault(top, (name, version))
    return files, tops


class Classifier:
    def __init__(self, service):
        self.files, self.tops = distribution_index()
        self.stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
        self.service = service

    def _by_path(self, path):
        found = self.files.get(path)
        if found:
            return {"package": found[0], "version": found[1], "kind": "distribution"}
        top = path.split("/")[0]
        if "/" in path and top in self.tops:
            name, version = self.tops[top]
            return {"package": name, "version": version, "kind": "distribution"}
        return None

    def module(self, name, is_package):
        """A PYZ module: its distribution, the runtime (stdlib, PyInstaller's own), or the service's code."""
        parts = name.split(".")
        relative = "/".join(parts)
        for candidate in ([f"{relative}/__init__.py"] if is_package else []) + [f"{relative}.py", f"{relative}/__init__.py"]:
            found = self._by_path(candidate)
            if found:
                return found
        if parts[0] in self.stdlib or parts[0].startswith(PYINSTALLER_MODULES):
            return {"package": RUNTIME, "kind": "runtime"}
        return {"package": f"{parts[0]} ({self.service})", "kind": "service"}

    def entry(self, name, typecode):
        """An archive entry (binary, data file, script, bootstrap module) by its name in the archive."""
        posix = name.replace("\\", "/")
        found = self._by_path(posix)
        if found:
            return found
        base = posix.split("/")[-1]
        if typecode in ("m", "M") or base.startswith(PYINSTALLER_MODULES) or base == "base_library.zip":
            return {"package": RUNTIME, "kind": "runtime"}
        if base.startswith("libpython") or "lib-dynload/" in posix or posix.startswith(("python3", "tcl", "tk")):
            return {"package": RUNTIME, "kind": "runtime"}
        if typecode == "s":
            return {"package": f"{self.service} (entry script)", "kind": "service"}
        if typecode in ("b", "n") and "/" not in posix:
            return {"package": SYSTEM, "kind": "system"}
        top = posix.split("/")[0]
        return {"package": f"{top} ({self.service})", "kind": "service"}


def item_kind(typecode, name):
    if typecode in ("b", "n"):
        return "shared library"
    if typecode in ("m", "M", "s"):
        return "module"
    return "data"


def read_executable(path, classifier, items):
    """The CArchive of a PyInstaller executable: its entries, and the modules of its PYZ."""
    archive = CArchiveReader(path)
    items.append({"path": "bootloader", "size": archive._start_offset, "kind": "bootloader", "package": RUNTIME, "packageKind": "runtime"})
    for name, (offset, length, uncompressed, _flag, typecode) in archive.toc.items():
        if typecode == "o":
            continue  # runtime options: a name in the TOC, no data
        if typecode == PKG_ITEM_PYZ:
            read_pyz(path, archive._start_offset + offset, classifier, items)
            continue
        owner = classifier.entry(name, typecode)
        items.append({"path": name, "size": length, "uncompressedSize": uncompressed, "kind": item_kind(typecode, name), "package": owner["package"], "packageKind": owner["kind"], "version": owner.get("version")})
    return archive


def read_pyz(path, start, classifier, items):
    pyz = ZlibArchiveReader(path, start)
    with open(path, "rb") as handle:
        for name, (typecode, offset, length) in pyz.toc.items():
            handle.seek(start + offset)
            raw = handle.read(length)
            try:
                uncompressed = len(zlib.decompress(raw)) if length else 0
            except zlib.error:
                uncompressed = length
            owner = classifier.module(name, typecode == 1)
            items.append({"path": name, "size": length, "uncompressedSize": uncompressed, "kind": "module", "package": owner["package"], "packageKind": owner["kind"], "version": owner.get("version")})


def read_folder_archive(path, classifier, items):
    """A one-folder build's .tar.gz: the executable's own archive, and every other file at its unpacked size."""
    with tarfile.open(path, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        top = members[0].name.split("/")[0] if members else ""
        for member in members:
            inner = member.name[len(top) + 1:]
            if "/" not in inner:
                with tempfile.TemporaryDirectory() as folder:
                    copy = os.path.join(folder, "executable")
                    with open(copy, "wb") as out:
                        out.write(tar.extractfile(member).read())
                    read_executable(copy, classifier, items)
                continue
            name = inner.split("/", 1)[1] if inner.startswith("_internal/") else inner
            owner = classifier.entry(name, "b" if ".so" in name or name.endswith((".dll", ".dylib", ".pyd")) else "x")
            items.append({"path": name, "size": member.size, "uncompressedSize": member.size, "kind": item_kind("b" if owner["kind"] == "system" else "x", name), "package": owner["package"], "packageKind": owner["kind"], "version": owner.get("version")})
        return sum(m.size for m in members)


def main(path, service):
    classifier = Classifier(service)
    items = []
    if path.endswith(".tar.gz"):
        measured = read_folder_archive(path, classifier, items)
        basis = "the unpacked folder"
    else:
        read_executable(path, classifier, items)
        measured = os.path.getsize(path)
        basis = "the executable"
    json.dump({"items": items, "measuredSize": measured, "basis": basis, "runtimePackage": RUNTIME}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
