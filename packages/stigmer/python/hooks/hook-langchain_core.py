# langchain_core's packages import their members lazily (module __getattr__ calling import_module), and
# langchain_core.load imports classes by name when it deserialises: collect every module.
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("langchain_core", filter=lambda name: ".tests" not in name)
