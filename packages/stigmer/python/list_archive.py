"""Prints, as JSON, what a PyInstaller executable contains: archive entries and the modules of its PYZ.

A one-folder build (an `_internal` folder beside the executable) holds its binaries and data files in that
folder rather than in the executable's archive: they are listed too, named as PyInstaller names them.

Usage: python list_archive.py <executable>   (run with the interpreter that has the PyInstaller that built it)
"""
import io
import json
import os
import sys
import zipfile

from PyInstaller.archive.readers import PKG_ITEM_PYZ, CArchiveReader


def base_library_modules(data):
    # The modules Python needs to start (encodings, codecs, ...) live in this zip.
    modules = []
    with zipfile.ZipFile(io.BytesIO(data)) as base_library:
        for member in base_library.namelist():
            if member.endswith(".pyc"):
                module = member[: -len(".pyc")].replace("/", ".")
                modules.append(module[: -len(".__init__")] if module.endswith(".__init__") else module)
    return modules


def folder_files(root):
    for folder, _, files in os.walk(root):
        for name in files:
            yield os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")


def main(path):
    archive = CArchiveReader(path)
    entries, modules = [], []
    for name, entry in archive.toc.items():
        entries.append(name)
        if entry[-1] == PKG_ITEM_PYZ:
            modules.extend(archive.open_embedded_archive(name).toc.keys())
        elif name.endswith("base_library.zip"):
            modules.extend(base_library_modules(archive.extract(name)))
    contents = os.path.join(os.path.dirname(os.path.abspath(path)), "_internal")
    if os.path.isdir(contents):
        for name in folder_files(contents):
            entries.append(name)
            if name == "base_library.zip":
                with open(os.path.join(contents, name), "rb") as data:
                    modules.extend(base_library_modules(data.read()))
    json.dump({"entries": entries, "modules": modules}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
