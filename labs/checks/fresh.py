"""Check functions that a submission cannot have monkeypatched: for hidden tests.

A student's code runs in the same kernel before the tests, so it can replace ``labs.checks.assert_close``
by a function that accepts anything. :func:`fresh` re-executes the check modules from their source files
into new module objects that no one else holds, after verifying that the pieces they rely on (Python
builtins, the torch functions and tensor methods they call) are still the real ones. Hidden tests call::

    from labs.checks.fresh import fresh as _fresh
    _close, _true = _fresh("assert_close", "assert_true")

It cannot stop a determined attacker in the same process (nothing can), but it defeats the cheap attacks
and fails loudly - a ``CheckFailed`` that scores 0 - when the environment was tampered with. The TA's
``labs audit`` flags the rest.
"""

from __future__ import annotations

import builtins
import importlib.util
import sys
import types
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_MODULES = ("tensors", "gradients", "modules", "rules")  # in dependency order
_BUILTINS = ("isinstance", "type", "len", "abs", "all", "any", "float", "int", "bool", "sum", "max", "min", "zip",
             "range", "tuple", "list", "dict", "set", "next", "hasattr", "getattr", "print", "repr", "str",
             "reversed", "enumerate", "AssertionError", "Exception")
_TORCH_FUNCTIONS = ("isfinite", "where", "zeros_like", "full_like", "allclose", "equal", "isclose", "tensor",
                    "is_tensor", "autograd.grad")
_TENSOR_METHODS = ("any", "all", "abs", "sum", "max", "argmax", "nonzero", "item", "reshape", "to", "double",
                   "detach", "clone", "numel", "__sub__", "__gt__", "__le__", "__lt__", "__ne__", "__eq__", "__or__",
                   "__and__", "__invert__", "__mul__", "__add__", "__getitem__", "__bool__", "__float__",
                   "clamp_min", "is_complex", "view", "requires_grad_")


def _tampered() -> list[str]:
    """What was replaced among the builtins, torch functions and tensor methods the checks use."""
    import torch

    found = []
    real = types.BuiltinFunctionType
    for name in _BUILTINS:
        value = getattr(builtins, name, None)
        if not isinstance(value, real | type) or getattr(value, "__module__", "builtins") != "builtins":
            found.append(f"builtins.{name}")
    for dotted in _TORCH_FUNCTIONS:
        value: object = torch
        for part in dotted.split("."):
            value = getattr(value, part, None)
        module = getattr(value, "__module__", "") or ""
        if isinstance(value, types.FunctionType) and not module.startswith("torch"):
            found.append(f"torch.{dotted}")
    for name in _TENSOR_METHODS:
        value = getattr(torch.Tensor, name, None)
        module = getattr(value, "__module__", "") or ""
        if isinstance(value, types.FunctionType) and not module.startswith("torch"):
            found.append(f"torch.Tensor.{name}")
    return found


def _load() -> dict[str, types.ModuleType]:
    """Execute the check modules from their files into private module objects (sys.modules is untouched,
    except for the duration of the load, so their ``from labs.checks.x import`` lines see the fresh ones)."""
    loaded: dict[str, types.ModuleType] = {}
    saved = {name: sys.modules.get(f"labs.checks.{name}") for name in _MODULES}
    try:
        for name in _MODULES:
            spec = importlib.util.spec_from_file_location(f"labs.checks.{name}", _PACKAGE / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[f"labs.checks.{name}"] = module
            spec.loader.exec_module(module)
            loaded[name] = module
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(f"labs.checks.{name}", None)
            else:
                sys.modules[f"labs.checks.{name}"] = module
    return loaded


def fresh(*names: str) -> types.SimpleNamespace | tuple:
    """Check functions re-loaded from source, after verifying the environment they depend on.

    ``fresh()`` returns a namespace with every public check (``fresh().assert_close``); ``fresh("a")``
    returns that function and ``fresh("a", "b")`` a tuple of them. Raises ``CheckFailed`` if builtins, torch
    functions or tensor methods the checks rely on were replaced by the submission.
    """
    modules = _load()
    failed = modules["tensors"].CheckFailed
    tampered = _tampered()
    if tampered:
        raise failed("the grading environment was modified by the notebook (" + ", ".join(tampered[:6]) +
                     "): restore it; this test cannot run.")
    public = {}
    for module in modules.values():
        for key, value in vars(module).items():
            if not key.startswith("_") and getattr(value, "__module__", "") == module.__name__:
                public[key] = value
    if names:
        missing = [n for n in names if n not in public]
        if missing:
            raise AttributeError(f"no check named {', '.join(missing)} in labs.checks")
        return tuple(public[n] for n in names) if len(names) > 1 else public[names[0]]
    return types.SimpleNamespace(**public)
