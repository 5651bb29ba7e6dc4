"""Check functions that a submission cannot have monkeypatched: for hidden tests.

A student's code runs in the same kernel before the tests, so it can replace ``labs.checks.assert_close``
by a function that accepts anything. :func:`fresh` re-executes the check modules from their source files
into new module objects that no one else holds, after verifying that the pieces they rely on (Python
builtins, the torch functions and tensor methods they call) are still the real ones. Hidden tests call::

    from labs.checks.fresh import fresh as _fresh
    _close, _true = _fresh("assert_close", "assert_true")

The modules are compiled and executed from their files with builtins only (no ``importlib`` and no
``labs.checks`` entry of ``sys.modules`` is consulted), after checking that ``__import__``, ``open``,
``compile`` and ``exec`` are the real builtins and that the modules the checks use (``torch``, ``numpy``,
``math``) are real modules loaded from files. While graded, test cells are sealed
(:mod:`labs.grading.seal`): their ``from labs.checks import ...`` lines become :func:`fresh_names` calls on a
copy of this file that the cell loads itself.

It cannot stop a determined attacker in the same process (nothing can), but it defeats the cheap attacks
and fails loudly - a ``CheckFailed`` that scores 0 - when the environment was tampered with. The TA's
``labs audit`` flags the rest.
"""

from __future__ import annotations

import builtins
import sys
import types

_PACKAGE = __file__.rsplit("/", 1)[0]
_MODULES = ("tensors", "gradients", "modules", "rules")  # in dependency order
_BUILTINS = ("isinstance", "type", "len", "abs", "all", "any", "float", "int", "bool", "sum", "max", "min", "zip",
             "range", "tuple", "list", "dict", "set", "next", "hasattr", "getattr", "print", "repr", "str",
             "reversed", "enumerate", "AssertionError", "Exception", "__import__", "open", "compile", "exec")
_MODULES_USED = ("torch", "numpy", "math")
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
        home = "io" if name == "open" else "builtins"
        if not isinstance(value, real | type) or getattr(value, "__module__", home) != home or \
                getattr(value, "__name__", name) != name:
            found.append(f"builtins.{name}")
    for name in _MODULES_USED:
        module = sys.modules.get(name)
        spec = getattr(module, "__spec__", None)
        if module is not None and (type(module) is not type(sys) or spec is None or spec.name != name):
            found.append(f"sys.modules[{name!r}]")
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
            path = f"{_PACKAGE}/{name}.py"
            module = type(sys)(f"labs.checks.{name}")
            module.__file__ = path
            sys.modules[f"labs.checks.{name}"] = module
            with open(path, encoding="utf-8") as file:
                exec(compile(file.read(), path, "exec"), module.__dict__)
            loaded[name] = module
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(f"labs.checks.{name}", None)
            else:
                sys.modules[f"labs.checks.{name}"] = module
    return loaded


def _checked() -> dict[str, types.ModuleType]:
    """The freshly loaded check modules, once the environment they rely on is verified."""
    tampered = _tampered()
    modules = _load()
    if tampered:
        raise modules["tensors"].CheckFailed(
            "the grading environment was modified by the notebook (" + ", ".join(tampered[:6]) +
            "): restore it; this test cannot run.")
    return modules


def fresh_names(*names: str) -> tuple:
    """Fresh objects of any public name of ``labs.checks`` (checks, constants such as ``AUTOGRAD``,
    ``CheckFailed``), in the order asked: what sealed ``from labs.checks import ...`` lines receive."""
    modules = _checked()
    found = []
    for name in names:
        if name == "fresh":
            found.append(fresh)
            continue
        for module in reversed(list(modules.values())):
            if not name.startswith("_") and name in vars(module):
                found.append(vars(module)[name])
                break
        else:
            raise ImportError(f"cannot import name {name!r} from labs.checks")
    return tuple(found)


def fresh(*names: str) -> types.SimpleNamespace | tuple:
    """Check functions re-loaded from source, after verifying the environment they depend on.

    ``fresh()`` returns a namespace with every public check (``fresh().assert_close``); ``fresh("a")``
    returns that function and ``fresh("a", "b")`` a tuple of them. Raises ``CheckFailed`` if builtins, torch
    functions or tensor methods the checks rely on were replaced by the submission.
    """
    modules = _checked()
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
