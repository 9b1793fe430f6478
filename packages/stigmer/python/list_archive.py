"""Prints, as JSON, what a PyInstaller executable contains: archive entries and the modules of its PYZ.

Usage: python list_archive.py <executable>   (run with the interpreter that has the PyInstaller that built it)
"""
import io
import json
import sys
import zipfile

from PyInstaller.archive.readers import PKG_ITEM_PYZ, CArchiveReader


def main(path):
    archive = CArchiveReader(path)
    entries, modules = [], []
    for name, entry in archive.toc.items():
        entries.append(name)
        if entry[-1] == PKG_ITEM_PYZ:
            modules.extend(archive.open_embedded_archive(name).toc.keys())
        elif name.endswith("base_library.zip"):
            # The modules Python needs to start (encodings, codecs, ...) live in this zip.
            with zipfile.ZipFile(io.BytesIO(archive.extract(name))) as base_library:
                for member in base_library.namelist():
                    if member.endswith(".pyc"):
                        module = member[: -len(".pyc")].replace("/", ".")
                        modules.append(module[: -len(".__init__")] if module.endswith(".__init__") else module)
    json.dump({"entries": entries, "modules": modules}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
