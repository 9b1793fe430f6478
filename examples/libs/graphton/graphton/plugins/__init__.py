"""Step plugins, each a module with an `apply(value)` function."""
