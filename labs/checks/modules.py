"""Check the architecture of a student's ``nn.Module`` by what its forward pass *does*.

A model is described by the layers its forward pass calls, recorded with a ``TorchFunctionMode``: an
``nn.ReLU`` module, ``torch.relu(x)``, ``F.relu(x)`` and ``x.relu()`` all appear as ``"ReLU"``, an activation
module reused between layers appears once per use, and the order is the order of the calls, not of the
attribute definitions. A linear layer whose weight is not a registered parameter of the model (made inside
``forward``, say) is marked, since an optimiser would never see it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from labs.checks.tensors import CheckFailed

UNREGISTERED = " [not a registered parameter]"


def _size(value: object) -> str:
    """``3`` for ``3`` or ``(3, 3)``, else the tuple: compact kernel sizes, strides and paddings."""
    if isinstance(value, tuple | list) and len(set(value)) == 1:
        return str(value[0])
    return str(tuple(value)) if isinstance(value, tuple | list) else str(value)


def _conv_name(dims: int) -> Callable[[tuple, dict], str]:
    """Describer of ``F.conv{dims}d(input, weight, bias, stride, padding, ...)`` calls."""
    def describe(args: tuple, kwargs: dict) -> str:
        weight = args[1] if len(args) > 1 else kwargs["weight"]
        stride = args[3] if len(args) > 3 else kwargs.get("stride", 1)
        padding = args[4] if len(args) > 4 else kwargs.get("padding", 0)
        out_channels, in_per_group = weight.shape[:2]
        kernel = tuple(weight.shape[2:])
        return (f"Conv{dims}d({in_per_group}, {out_channels}, k={_size(kernel)}, s={_size(stride)}, "
                f"p={_size(padding)})")
    return describe


def _linear_name(args: tuple, kwargs: dict) -> str:
    """``Linear(in, out)`` from the weight of an ``F.linear`` call."""
    weight = args[1] if len(args) > 1 else kwargs["weight"]
    return f"Linear({weight.shape[1]}, {weight.shape[0]})"


def _vocabulary() -> dict[object, str | Callable[[tuple, dict], str]]:
    """The functions a description records, mapped to a name or to a function that names the call."""
    names: dict[str, list[object]] = {
        "ReLU": [torch.relu, torch.relu_, F.relu, F.relu_, torch.Tensor.relu, torch.Tensor.relu_],
        "Sigmoid": [torch.sigmoid, torch.sigmoid_, F.sigmoid, torch.Tensor.sigmoid, torch.Tensor.sigmoid_,
                    torch.special.expit],
        "Tanh": [torch.tanh, torch.tanh_, F.tanh, torch.Tensor.tanh, torch.Tensor.tanh_],
        "GELU": [F.gelu],
        "LeakyReLU": [F.leaky_relu, F.leaky_relu_],
        "ELU": [F.elu, F.elu_],
        "Softmax": [torch.softmax, F.softmax, torch.Tensor.softmax],
        "LogSoftmax": [torch.log_softmax, F.log_softmax, torch.Tensor.log_softmax],
        "Flatten": [torch.flatten, torch.Tensor.flatten],
        "Dropout": [F.dropout, F.dropout2d],
        "BatchNorm": [F.batch_norm],
        "MaxPool1d": [F.max_pool1d, F.max_pool1d_with_indices],
        "MaxPool2d": [F.max_pool2d, F.max_pool2d_with_indices],
        "AvgPool2d": [F.avg_pool2d],
        "AdaptiveAvgPool2d": [F.adaptive_avg_pool2d],
    }
    table: dict[object, str | Callable[[tuple, dict], str]] = {}
    for name, functions in names.items():
        for function in functions:
            table[function] = name
    table[F.linear] = _linear_name
    table[F.conv1d] = _conv_name(1)
    table[F.conv2d] = _conv_name(2)
    return table


class _LayerRecorder(TorchFunctionMode):
    """Records the layer-like calls of a forward pass (nested calls inside a recorded one are not seen)."""

    def __init__(self, parameters: set[int]) -> None:
        super().__init__()
        self.vocabulary = _vocabulary()
        self.parameters = parameters
        self.calls: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's protocol
        kwargs = kwargs or {}
        entry = self.vocabulary.get(func)
        if entry is not None:
            name = entry if isinstance(entry, str) else entry(args, kwargs)
            if func in (F.linear, F.conv1d, F.conv2d):
                weight = args[1] if len(args) > 1 else kwargs.get("weight")
                if id(weight) not in self.parameters:
                    name += UNREGISTERED
            self.calls.append(name)
        return func(*args, **kwargs)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model without any)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _default_example(model: nn.Module) -> torch.Tensor:
    """A batch of two zero inputs sized for the model's first ``nn.Linear`` (for MLPs)."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            return torch.zeros(2, module.in_features)
    raise CheckFailed("describe_layers needs an example input for a model without nn.Linear layers.")


def describe_layers(model: nn.Module, example: torch.Tensor | Sequence[torch.Tensor] | None = None) -> list[str]:
    """The layers the forward pass of ``model`` calls on ``example``, in order, e.g. ``["Linear(1, 2)", "Sigmoid",
    "Linear(2, 1)"]``.

    ``example`` is one input tensor or a sequence of them (default: two zero vectors sized for the first
    ``nn.Linear``), moved to the model's device. The pass runs without gradients and in evaluation mode, so
    batch-norm statistics are left untouched; the model's train/eval flags are restored afterwards.
    """
    if example is None:
        example = _default_example(model)
    inputs = [example] if isinstance(example, torch.Tensor) else list(example)
    device = model_device(model)
    inputs = [x.to(device) if isinstance(x, torch.Tensor) else x for x in inputs]
    modes = [(module, module.training) for module in model.modules()]
    recorder = _LayerRecorder({id(p) for p in model.parameters()})
    try:
        model.eval()
        with torch.no_grad(), recorder:
            model(*inputs)
    finally:
        for module, training in modes:
            module.training = training
    return recorder.calls


def registered_layers(model: nn.Module) -> list[str]:
    """The model's leaf modules in registration order (what ``print(model)`` lists), e.g. ``["Linear(1, 2)",
    "Sigmoid"]``: for tasks whose text asks for modules rather than behaviour."""
    layers = []
    for _, module in model.named_modules(remove_duplicate=False):
        if any(True for _ in module.children()):
            continue
        if isinstance(module, nn.Linear):
            layers.append(f"Linear({module.in_features}, {module.out_features})")
        else:
            layers.append(type(module).__name__)
    return layers


def assert_layers(
    model: object,
    expected: list[str] | Sequence[list[str]],
    *,
    name: str = "model",
    example: torch.Tensor | Sequence[torch.Tensor] | None = None,
    hint: str | None = None,
) -> None:
    """Check that ``model`` is an ``nn.Module`` whose forward pass calls exactly the layers ``expected``.

    ``expected`` is one list of layer names, or a list of such lists when several architectures are right
    (a sigmoid or a ReLU hidden layer, say).
    """
    __tracebackhide__ = True
    if not isinstance(model, nn.Module):
        raise CheckFailed(f"{name}: expected an nn.Module, got {type(model).__name__}.")
    try:
        found = describe_layers(model, example)
    except CheckFailed:
        raise
    except Exception as error:  # noqa: BLE001 - the student's forward pass failed: say so
        raise CheckFailed(f"{name}: the forward pass raised {type(error).__name__}: {error}") from None
    options = [expected] if expected and isinstance(expected[0], str) else list(expected)
    if found not in options:
        wanted = " or ".join(str(option) for option in options)
        message = f"{name}: expected the forward pass to call the layers {wanted}; it called {found}."
        if any(UNREGISTERED in layer for layer in found):
            message += (" A layer made inside forward() is new at every call and invisible to the optimiser: "
                        "create it in __init__.")
        raise CheckFailed(f"{message} Usual cause: {hint}" if hint else message)
