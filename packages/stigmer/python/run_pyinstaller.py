"""Runs PyInstaller for stigmer, with one addition: a cache of compressed archive members.

PyInstaller recompresses every binary (libpython, extension modules) into the executable on every build,
which is most of an incremental build's time. This driver memoises those compressed bytes in a folder keyed
by the file's path, size, modification time and compression level, so unchanged files are copied instead of
recompressed. The bytes written are exactly those PyInstaller would write: the same compressor, the same
level, the same chunks. If PyInstaller's internals change shape, the cache switches itself off.

Usage: python run_pyinstaller.py <cache dir> <pyinstaller arguments...>
"""
import hashlib
import os
import sys
import zlib


def install_compression_cache(cache_dir):
    try:
        from PyInstaller.archive import writers
        original = writers.CArchiveWriter._write_file
    except (ImportError, AttributeError):
        return

    def _write_file(self, out_fp, src_name, dest_name, typecode, compress=False):
        if not compress:
            return original(self, out_fp, src_name, dest_name, typecode, compress=compress)
        stat = os.stat(src_name)
        level = self._COMPRESSION_LEVEL
        key = f"{os.path.realpath(src_name)}\0{stat.st_size}\0{stat.st_mtime_ns}\0{level}\0{zlib.ZLIB_RUNTIME_VERSION}"
        cached = os.path.join(cache_dir, hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest())
        try:
            with open(cached, "rb") as handle:
                blob = handle.read()
        except OSError:
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
            blob = b"".join(chunks)
            os.makedirs(cache_dir, exist_ok=True)
            partial = f"{cached}.{os.getpid()}.tmp"
            with open(partial, "wb") as handle:
                handle.write(blob)
            os.replace(partial, cached)
        data_offset = out_fp.tell()
        out_fp.write(blob)
        return (data_offset, len(blob), stat.st_size, 1, typecode, dest_name)

    writers.CArchiveWriter._write_file = _write_file


def main():
    cache_dir, arguments = sys.argv[1], sys.argv[2:]
    install_compression_cache(cache_dir)
    import PyInstaller.__main__

    PyInstaller.__main__.run(arguments)


if __name__ == "__main__":
    main()
