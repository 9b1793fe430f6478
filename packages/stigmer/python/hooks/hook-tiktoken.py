# tiktoken discovers its encodings as plugins of the tiktoken_ext namespace package (pkgutil.iter_modules).
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("tiktoken_ext")
