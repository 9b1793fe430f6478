"""Runs PyInstaller for stigmer, with two additions: a cache of compressed archive members, and the reuse of
the last analysis when an edit adds no import (analysis_reuse.py).

PyInstaller recompresses every binary (libpython, extension modules) into the executable on every build,
which is most of an incremental build's time. This driver memoises those compressed bytes in a folder keyed
by the sha256 of the file's content, the compression level and the zlib version, so unchanged files are
copied instead of recompressed. The bytes written are those PyInstaller would write: the same compressor,
the same level, the same chunks. Members not in the cache are compressed ahead of the writer on every core.

The cache replaces a private method of PyInstaller, so it is switched on only for the PyInstaller versions
in PROVEN_VERSIONS (an e2e test builds the same spec with and without it and compares the bytes), and only
if that method still has the expected signature. Otherwise PyInstaller runs untouched, and one line says so.
Entries the last build did not use are removed after it.

After a one-file build, the driver can also write the binary's size report (binary_report.py) while PyInstaller
and the distributions' metadata are already loaded, instead of a second Python process after the build.

Usage: python run_pyinstaller.py <cache dir> [--stigmer-report <json out> <service> <executable> <report cache>] <pyinstaller arguments...>
"""
import concurrent.futures
import contextlib
import hashlib
import inspect
import json
import os
import sys
import threading
import zlib

# PyInstaller versions whose output is byte-identical with and without the cache (e2e: bad-input.e2e.ts) and with
# a reused analysis (e2e: python-incremental.e2e.ts).
PROVEN_VERSIONS = ("6.22.3",)
EXPECTED_PARAMETERS = ["self", "out_fp", "src_name", "dest_name", "typecode", "compress"]
EXPECTED_INIT_PARAMETERS = ["self", "filename", "entries", "pylib_name"]
# CArchiveWriter._write_entry writes these typecodes itself; every other one goes through _write_file.
WRITTEN_BY_OTHER_BRANCHES = {"o", "d", "s", "s1", "s2", "m", "M", "n"}


def say(message):
    print(f"stigmer: {message}", file=sys.stderr, flush=True)


def content_key(src_name, level):
    digest = hashlib.sha256()
    with open(src_name, "rb") as in_fp:
        for block in iter(lambda: in_fp.read(1024 * 1024), b""):
            digest.update(block)
    return f"{digest.hexdigest()}-z{level}-{zlib.ZLIB_RUNTIME_VERSION}"


def compress_file(src_name, level):
    # The same loop as PyInstaller's CArchiveWriter._write_file: same buffer size, same compressor calls.
    compressor = zlib.compressobj(level)
    chunks = []
    with open(src_name, "rb") as in_fp:
        buffer = bytearray(16 * 1024)
        while True:
            count = in_fp.readinto(buffer)
            if not count:
                break
            chunks.append(compressor.compress(buffer[:count]))
    chunks.append(compressor.flush())
    return b"".join(chunks)


class Precompressor:
    """Compresses the archive's members ahead of PyInstaller's writer, on every core: zlib and sha256 release the
    GIL, so a one-file build's compression (level 9, most of its bundle phase) takes 1/cores of the time. The
    writer still writes in its own order; it only waits for bytes another thread made. At most `window` members
    are compressed ahead of it, which bounds the memory held to a few members."""

    def __init__(self, sources, compress_one, workers):
        self._order = list(dict.fromkeys(sources))
        self._position = {source: index for index, source in enumerate(self._order)}
        self._compress_one = compress_one
        self._window = 2 * workers
        self._submitted = 0
        self._futures = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers) if workers > 1 and self._order else None
        if self._pool is not None:
            self._submit_until(self._window)

    def _submit_until(self, end):
        while self._submitted < min(end, len(self._order)):
            source = self._order[self._submitted]
            self._futures[source] = self._pool.submit(self._compress_one, source)
            self._submitted += 1

    def take(self, source):
        """(key, bytes) of one member, made ahead if it was in the list; otherwise made now."""
        if self._pool is None or source not in self._position:
            return self._compress_one(source)
        self._submit_until(self._position[source] + 1 + self._window)
        future = self._futures.pop(source, None)
        return future.result() if future is not None else self._compress_one(source)

    def close(self):
        if self._pool is not None:
            for future in self._futures.values():  # members the writer never took (it failed): not started, not made
                future.cancel()
            self._pool.shutdown(wait=True)  # Python 3.8 has no cancel_futures


def install_compression_cache(cache_dir, used):
    """Patches PyInstaller's archive writer; returns True if the cache is on. `used` collects the keys read or written."""
    try:
        import PyInstaller
        from PyInstaller.archive import writers

        original = writers.CArchiveWriter._write_file
        original_init = writers.CArchiveWriter.__init__
        level = writers.CArchiveWriter._COMPRESSION_LEVEL
        parameters = list(inspect.signature(original).parameters)
        init_parameters = list(inspect.signature(original_init).parameters)
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        say(f"compression cache off: PyInstaller's archive writer is not as expected ({error}); PyInstaller runs unchanged.")
        return False
    version = getattr(PyInstaller, "__version__", "unknown")
    if version not in PROVEN_VERSIONS:
        say(f"compression cache off: not proven byte-identical with PyInstaller {version} (proven: {', '.join(PROVEN_VERSIONS)}); PyInstaller runs unchanged.")
        return False
    for method, found, expected in (("_write_file", parameters, EXPECTED_PARAMETERS), ("__init__", init_parameters, EXPECTED_INIT_PARAMETERS)):
        if found != expected:
            say(f"compression cache off: PyInstaller {version} has an unexpected CArchiveWriter.{method}{tuple(found)}; PyInstaller runs unchanged.")
            return False

    def cached_or_compressed(src_name):
        key = content_key(src_name, level)
        cached = os.path.join(cache_dir, key)
        try:
            with open(cached, "rb") as handle:
                return key, handle.read()
        except FileNotFoundError:
            pass
        blob = compress_file(src_name, level)
        os.makedirs(cache_dir, exist_ok=True)
        partial = f"{cached}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(partial, "wb") as handle:
            handle.write(blob)
        os.replace(partial, cached)
        return key, blob

    def __init__(self, filename, entries, pylib_name):
        entries = list(entries)
        # The members _write_entry hands to _write_file with compression on (every other typecode is written
        # by its own branch).
        members = [src for (_dest, src, compress, typecode) in entries if compress and typecode not in WRITTEN_BY_OTHER_BRANCHES]
        self._stigmer_precompressor = Precompressor(members, cached_or_compressed, os.cpu_count() or 1)
        try:
            original_init(self, filename, entries, pylib_name)
        finally:
            self._stigmer_precompressor.close()

    def _write_file(self, out_fp, src_name, dest_name, typecode, compress=False):
        if not compress:
            return original(self, out_fp, src_name, dest_name, typecode, compress=compress)
        # Anything unexpected before a byte is written hands the file to PyInstaller's own code.
        try:
            data_length = os.stat(src_name).st_size
            precompressor = getattr(self, "_stigmer_precompressor", None)
            key, blob = precompressor.take(src_name) if precompressor else cached_or_compressed(src_name)
        except Exception as error:  # noqa: BLE001 - the cache is an optimisation, never a reason to fail
            say(f"compression cache skipped for {os.path.basename(src_name)}: {error}")
            return original(self, out_fp, src_name, dest_name, typecode, compress=compress)
        used.add(key)
        data_offset = out_fp.tell()
        out_fp.write(blob)
        return (data_offset, len(blob), data_length, 1, typecode, dest_name)

    writers.CArchiveWriter.__init__ = __init__
    writers.CArchiveWriter._write_file = _write_file
    return True


def prune(cache_dir, used):
    """Removes the entries the build just finished did not use (and temp files of interrupted ones)."""
    if not used:
        return  # nothing was archived (PyInstaller found the archive up to date): keep the cache as it is
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return
    for name in names:
        if name not in used:
            try:
                os.remove(os.path.join(cache_dir, name))
            except OSError:
                pass


def pyinstaller_version():
    try:
        import PyInstaller

        return getattr(PyInstaller, "__version__", "unknown")
    except ImportError:
        return "missing"


def report_key(executable, service, report_script):
    """What a size report is a function of: the executable's bytes, the service's name, binary_report.py, the Python,
    and every distribution's metadata files (RECORD and METADATA, by size and mtime). None when a distribution is
    not a folder on disk (nothing then says it did not change)."""
    import importlib.metadata

    digest = hashlib.sha256(f"{sys.version}\n{service}\n".encode())
    digest.update(content_key(report_script, 0).encode())
    digest.update(content_key(executable, 0).encode())
    folders = []
    for distribution in importlib.metadata.distributions():
        folder = getattr(distribution, "_path", None)
        if folder is None or not os.path.isdir(str(folder)):
            return None
        folders.append(str(folder))
    for folder in sorted(folders):
        digest.update(f"{folder}\n".encode())
        for name in ("", "RECORD", "SOURCES.txt", "installed-files.txt", "METADATA", "PKG-INFO"):
            try:
                stat = os.stat(os.path.join(folder, name))
                digest.update(f"{name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{name} -\n".encode())
    return digest.hexdigest()


def write_report(report, original_path):
    """binary_report.py on the executable just built, as its own process would run it (the same sys.path). The
    last report is kept in the spec's work folder and used again while its report_key is unchanged (an unchanged
    rebuild gives the same bytes)."""
    output, service, executable, cache_file = report
    if not os.path.isfile(executable):
        return
    partial = f"{output}.{os.getpid()}.tmp"
    try:
        sys.path[:] = original_path
        import binary_report

        key = report_key(executable, service, binary_report.__file__)
        try:
            with open(cache_file, encoding="utf-8") as handle:
                cached = json.load(handle)
        except (OSError, ValueError):
            cached = {}
        if key is not None and cached.get("key") == key and isinstance(cached.get("report"), dict):
            with open(partial, "w", encoding="utf-8") as handle:
                json.dump(cached["report"], handle)
        else:
            with open(partial, "w", encoding="utf-8") as handle, contextlib.redirect_stdout(handle):
                binary_report.main(executable, service)
            if key is not None:
                with open(partial, encoding="utf-8") as handle:
                    made = json.load(handle)
                os.makedirs(os.path.dirname(cache_file), exist_ok=True)
                with open(f"{cache_file}.{os.getpid()}.tmp", "w", encoding="utf-8") as handle:
                    json.dump({"key": key, "report": made}, handle)
                os.replace(f"{cache_file}.{os.getpid()}.tmp", cache_file)
        os.replace(partial, output)
    except Exception as error:  # noqa: BLE001 - the report is then made by its own process, as before
        say(f"size report not made in the build process ({error}); it runs on its own.")
        with contextlib.suppress(OSError):
            os.remove(partial)


def main():
    original_path = list(sys.path)
    cache_dir, arguments = sys.argv[1], sys.argv[2:]
    report = None
    if arguments[:1] == ["--stigmer-report"]:
        report, arguments = arguments[1:5], arguments[5:]
    used = set()
    version = pyinstaller_version()
    reuse = None
    if version in PROVEN_VERSIONS:
        # "-" builds without the compression cache (the e2e test that proves the cache changes no byte).
        cache_on = cache_dir != "-" and install_compression_cache(cache_dir, used)
        import analysis_reuse

        reuse = analysis_reuse.AnalysisReuse()
        reuse.install()
    else:
        cache_on = False
        say(f"compression cache and analysis reuse off: not proven byte-identical with PyInstaller {version} (proven: {', '.join(PROVEN_VERSIONS)}); PyInstaller runs unchanged, with a full analysis.")
    import PyInstaller.__main__

    PyInstaller.__main__.run(arguments)
    if reuse:
        reuse.write_records()
    if cache_on:
        prune(cache_dir, used)
    if report:
        write_report(report, original_path)


if __name__ == "__main__":
    main()
