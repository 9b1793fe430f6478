"""graphton: a step graph whose steps are plugins found by name at run time."""
import importlib

__all__ = ["Graph", "load_plugin"]


def load_plugin(name: str):
    # Loaded by name, as real plugin systems do: static analysis cannot see these imports.
    return importlib.import_module(f"graphton.plugins.{name}")


class Graph:
    def __init__(self, name: str):
        self.name = name
        self.steps = []

    def add_step(self, plugin: str, value: str) -> None:
        self.steps.append((load_plugin(plugin), value))

    def run(self) -> list:
        return [plugin.apply(value) for plugin, value in self.steps]
