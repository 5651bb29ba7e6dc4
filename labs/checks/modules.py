"""Check the architecture of a student's ``nn.Module``."""

from __future__ import annotations

from torch import nn

from labs.checks.tensors import CheckFailed


def describe_layers(model: nn.Module) -> list[str]:
    """The model's leaf layers in registration order, e.g. ``["Linear(1, 2)", "Sigmoid", "Linear(2, 1)"]``."""
    layers = []
    for module in model.modules():
        if any(True for _ in module.children()):
            continue
        if isinstance(module, nn.Linear):
            layers.append(f"Linear({module.in_features}, {module.out_features})")
        else:
            layers.append(type(module).__name__)
    return layers


def assert_layers(model: object, expected: list[str], *, name: str = "model") -> None:
    """Check that ``model`` is an ``nn.Module`` whose leaf layers are exactly ``expected``."""
    if not isinstance(model, nn.Module):
        raise CheckFailed(f"{name}: expected an nn.Module, got {type(model).__name__}.")
    found = describe_layers(model)
    if found != expected:
        raise CheckFailed(f"{name}: expected the layers {expected}, found {found}.")
