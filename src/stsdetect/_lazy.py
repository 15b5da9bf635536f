"""Names a package exports but imports only on first use (PEP 562), so imports stay cheap."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str], namespace: dict, names: list[str]):
    """The ``__getattr__`` and ``__dir__`` of a package whose names load on first use.

    Parameters
    ----------
    package : str
        The package's name, for the error message.
    exports : dict of str to str
        Public name -> the module that defines it.
    namespace : dict
        The package's ``globals()``: a loaded name is stored there, so it loads once.
    names : list of str
        What ``dir(package)`` lists (the package's ``__all__``).

    Returns
    -------
    tuple of callable
        ``(__getattr__, __dir__)``.
    """

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return names

    return __getattr__, __dir__
