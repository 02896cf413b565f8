"""Attributes of a package imported on first use (PEP 562), so that importing the package,
or starting the command line, does not import pandas and the engines."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_attributes(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that finds `name` in module `where[name]` and keeps it.

    A name may not be that of the module it lives in (`compare` in `pkg.compare`): importing
    the module anywhere makes it the package's attribute of that name, so `pkg.compare`
    would be the module, not the function, depending on what ran first."""
    for name, module in where.items():
        if module == f"{package}.{name}":
            raise ValueError(f"lazy attribute `{name}` shares its name with module {module}")

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(where[name]), name)
        setattr(sys.modules[package], name, value)  # found once, then a plain attribute
        return value

    return __getattr__
