"""stigmer's stand-in for PyInstaller's pyi_rth_inspect run-time hook (stigmer_spec.lazy_inspect_hook swaps it in).

PyInstaller's hook imports inspect (with ast, dis, tokenize) and zipfile at every start, to read the listing of
base_library.zip and replace inspect.getsourcefile with one that resolves the relative file names of frozen code.
That is 30-45 ms of a start that may never use inspect (docs/python.md, "Start-up"). This hook gives inspect the
same replacement, but only when the program imports inspect, and reads base_library.zip only when the
replacement is first called.
"""


def _stigmer_lazy_inspect_hook():
    import sys

    def frozen_getsourcefile(inspect):
        import os

        prefix = os.path.normpath(sys._MEIPASS)
        base_library = os.path.join(prefix, "base_library.zip")
        original = inspect.getsourcefile
        zipped = []  # [set of the normalized names in base_library.zip], filled at the first call

        def zipped_names():
            if not zipped:
                names = set()
                if os.path.isfile(base_library):
                    import zipfile

                    with zipfile.ZipFile(base_library) as archive:
                        names = {os.path.normpath(name) for name in archive.namelist()}
                zipped.append(names)
            return zipped[0]

        def getsourcefile(object):
            filename = os.path.normpath(inspect.getfile(object))
            if not os.path.isabs(filename):
                # Frozen code objects carry relative file names: the entry script's, a module of
                # base_library.zip (loaded by zipimport, so its __file__ is the .pyc inside the zip), or one of
                # the PYZ archive (its __file__ is where the .py would be under sys._MEIPASS).
                main_file = getattr(sys.modules["__main__"], "__file__", None)
                if main_file and filename == os.path.basename(main_file):
                    return main_file
                if filename + "c" in zipped_names():
                    return os.path.normpath(os.path.join(base_library, filename + "c"))
                return os.path.normpath(os.path.join(prefix, filename))
            if filename.startswith(prefix):
                return filename
            return original(object)

        return getsourcefile

    def patch(module):
        module.getsourcefile = frozen_getsourcefile(module)

    if "inspect" in sys.modules:
        patch(sys.modules["inspect"])
        return

    class PatchingLoader:
        """Runs inspect's own loader, then patches the module; the module keeps the real loader."""

        def __init__(self, loader):
            self.loader = loader

        def create_module(self, spec):
            return self.loader.create_module(spec)

        def exec_module(self, module):
            module.__loader__ = self.loader
            if module.__spec__ is not None:
                module.__spec__.loader = self.loader
            self.loader.exec_module(module)
            patch(module)

    class LegacyPatchingLoader:
        """The same for a loader with load_module only (zipimport before Python 3.10)."""

        def __init__(self, loader):
            self.loader = loader

        def load_module(self, fullname):
            module = self.loader.load_module(fullname)
            patch(module)
            return module

    class InspectFinder:
        """First on sys.meta_path until inspect is imported: finds it through the other finders, once."""

        @classmethod
        def find_spec(cls, fullname, path=None, target=None):
            if fullname != "inspect":
                return None
            if cls in sys.meta_path:
                sys.meta_path.remove(cls)
            for finder in sys.meta_path:
                find_spec = getattr(finder, "find_spec", None)
                spec = find_spec(fullname, path, target) if find_spec else None
                if spec is not None:
                    wrapper = PatchingLoader if hasattr(spec.loader, "exec_module") else LegacyPatchingLoader
                    spec.loader = wrapper(spec.loader)
                    return spec
            return None

    sys.meta_path.insert(0, InspectFinder)


_stigmer_lazy_inspect_hook()
del _stigmer_lazy_inspect_hook
