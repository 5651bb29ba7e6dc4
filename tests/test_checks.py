"""The shared checks are fair to correct code written in other ways and name what a wrong answer got wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labs.checks import (
    AUTOGRAD,
    CROSS_ENTROPY,
    SOFTMAX,
    CheckFailed,
    assert_close,
    assert_float,
    assert_float_list,
    assert_int,
    assert_layers,
    assert_loss_and_gradient,
    describe_layers,
    forbidden_calls,
    format_pair,
    fresh,
    model_device,
    registered_layers,
)


@pytest.mark.parametrize("value", [1.5, np.float64(1.5), np.float32(1.5), float("inf")])
def test_floats_of_any_library_are_floats(value):
    assert_float(value, "v")


@pytest.mark.parametrize("value", [torch.tensor(1.5), 1, True, "1.5", np.array([1.5])])
def test_non_floats_are_refused_with_their_kind(value):
    with pytest.raises(CheckFailed, match="expected a float, got"):
        assert_float(value, "v")


def test_float_list_and_int_checks():
    assert_float_list([1.0, np.float64(2.0)], 2, "losses")
    with pytest.raises(CheckFailed, match="expected a list of 2 floats, got float"):
        assert_float_list(1.0, 2, "losses")
    with pytest.raises(CheckFailed, match="entry 1 should be a float, got a tensor"):
        assert_float_list([1.0, torch.tensor(2.0)], 2, "losses")
    assert_int(np.int64(3), "n")
    with pytest.raises(CheckFailed, match="expected an int, got float"):
        assert_int(3.0, "n")


def test_messages_show_enough_digits_to_see_the_difference():
    assert format_pair(2.0, 2.0000000685) == ("2", "2.0000001")
    with pytest.raises(CheckFailed, match=r"expected 2, got 2.0000001 .* Usual cause: float32"):
        assert_close(2.0000000685, 2.0, rtol=1e-12, name="x", hint="float32")


def test_numpy_and_float32_numbers_compare_as_numbers():
    assert_close(np.float32(0.1), 0.1, rtol=1e-6)
    assert_close(torch.tensor(0.1), 0.1, rtol=1e-6)


class ActivationFirst(nn.Module):
    """A correct MLP whose activation module is registered before the linear layers."""

    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()
        self.fc1, self.fc2 = nn.Linear(1, 4), nn.Linear(4, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Functional(nn.Module):
    """A correct MLP whose activation is a function call."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(1, 4), nn.Linear(4, 1)

    def forward(self, x):
        return self.fc2(torch.sigmoid(self.fc1(x)))


class MadeInForward(nn.Module):
    def forward(self, x):
        return nn.Linear(1, 1)(x)


def test_layers_are_described_by_the_forward_pass():
    shared = nn.ReLU()
    assert describe_layers(ActivationFirst()) == ["Linear(1, 4)", "ReLU", "Linear(4, 1)"]
    assert describe_layers(Functional()) == ["Linear(1, 4)", "Sigmoid", "Linear(4, 1)"]
    reused = nn.Sequential(nn.Linear(2, 3), shared, nn.Linear(3, 3), shared, nn.Linear(3, 1))
    assert describe_layers(reused) == ["Linear(2, 3)", "ReLU", "Linear(3, 3)", "ReLU", "Linear(3, 1)"]
    assert registered_layers(reused) == ["Linear(2, 3)", "ReLU", "Linear(3, 3)", "ReLU", "Linear(3, 1)"]
    assert_layers(Functional(), [["Linear(1, 4)", "ReLU", "Linear(4, 1)"], ["Linear(1, 4)", "Sigmoid", "Linear(4, 1)"]])
    conv = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    assert describe_layers(conv, torch.zeros(1, 1, 8, 8)) == ["Conv2d(1, 8, k=3, s=1, p=1)", "BatchNorm", "ReLU",
                                                              "MaxPool2d", "Flatten"]


def test_description_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))
    model.train()
    before = model[1].running_mean.clone()
    describe_layers(model, torch.randn(4, 3))
    assert model.training and model[2].training and torch.equal(model[1].running_mean, before)
    assert model_device(model) == torch.device("cpu")


def test_layer_made_in_forward_is_reported():
    with pytest.raises(CheckFailed, match="not a registered parameter.*create it in __init__"):
        assert_layers(MadeInForward(), ["Linear(1, 1)"], example=torch.zeros(2, 1))


def _by_backward(x):
    with torch.enable_grad():
        point = x.clone().requires_grad_(True)
        (point**2).sum().backward()
        return point.grad


def _by_func_grad_caught(x):
    try:
        return torch.func.grad(lambda t: (t**2).sum())(x)
    except Exception:  # noqa: BLE001 - a student hiding the refusal must still be caught
        return 2 * x


def _by_jvp(x):
    return torch.func.jvp(lambda t: (t**2), (x,), (torch.ones_like(x),))[1]


@pytest.mark.parametrize("cheat", [_by_backward, _by_func_grad_caught, _by_jvp])
def test_autograd_is_refused_however_it_is_reached(cheat):
    with pytest.raises(CheckFailed, match="grad called .*which this task does not allow: by hand"):
        with torch.no_grad(), forbidden_calls(AUTOGRAD, task="grad", reason="by hand"):
            cheat(torch.ones(3))


def test_code_without_forbidden_calls_runs_and_errors_pass_through():
    with forbidden_calls(AUTOGRAD, SOFTMAX, CROSS_ENTROPY, task="f", reason="r"):
        assert torch.equal(2 * torch.ones(2), torch.full((2,), 2.0))
    with pytest.raises(ZeroDivisionError), forbidden_calls(SOFTMAX, task="f", reason="r"):
        _ = 1 / 0


@pytest.mark.parametrize("call", [lambda z: z.softmax(-1), lambda z: F.softmax(z, -1), lambda z: torch.softmax(z, -1),
                                  lambda z: F.log_softmax(z, -1)])
def test_every_spelling_of_softmax_is_refused(call):
    with pytest.raises(CheckFailed, match="softmax"), forbidden_calls(SOFTMAX, task="f", reason="r"):
        call(torch.zeros(2, 3))


def test_loss_must_keep_its_gradient():
    logits, labels = torch.randn(5, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 3, 0])
    assert_loss_and_gradient(lambda z, y: -F.log_softmax(z, 1)[torch.arange(5), y].mean(), F.cross_entropy,
                             [logits, labels], name="ce")
    with pytest.raises(CheckFailed, match="no gradient"):
        assert_loss_and_gradient(lambda z, y: torch.tensor(F.cross_entropy(z, y).item()), F.cross_entropy,
                                 [logits, labels], name="ce")
    with pytest.raises(CheckFailed, match="gradient with respect to input 0"):
        assert_loss_and_gradient(lambda z, y: F.cross_entropy(z, y) + 0 * z.sum() ** 2 + (z.detach() - z).sum(),
                                 F.cross_entropy, [logits, labels], name="ce")


def test_fresh_checks_ignore_names_shadowed_in_the_notebook(monkeypatch):
    import __main__

    for name, value in {"sum": 0.0, "max": 1, "min": 0, "len": 3, "type": "relu", "input": None, "id": 7,
                        "list": []}.items():
        monkeypatch.setattr(__main__, name, value, raising=False)
    close, float_list = fresh("assert_close", "assert_float_list")
    close(torch.ones(2), torch.ones(2))
    float_list([1.0, 2.0], 2, "losses")


def test_the_course_gradient_helpers_can_be_forbidden_even_through_an_alias():
    from labs.checks import GRADIENT_HELPERS, numerical_gradient, rel_error

    alias = numerical_gradient

    def lazy_checker(f, x):
        return alias(f, x)

    with pytest.raises(CheckFailed, match="called labs.checks.numerical_gradient"):
        with forbidden_calls(GRADIENT_HELPERS, task="centred_gradient", reason="write your own"):
            lazy_checker(lambda t: (t**2).sum(), torch.ones(2))
    with pytest.raises(CheckFailed, match="called labs.checks.rel_error"):
        with forbidden_calls(GRADIENT_HELPERS, task="relative_error", reason="write your own"):
            rel_error(torch.ones(2), torch.ones(2))
    fresh_numerical = fresh("numerical_gradient")  # a re-loaded copy is refused too
    with pytest.raises(CheckFailed), forbidden_calls(GRADIENT_HELPERS, task="t", reason="r"):
        fresh_numerical(lambda t: (t**2).sum(), torch.ones(2))
    with forbidden_calls(GRADIENT_HELPERS, task="t", reason="r"):  # own code passes, and the hook is removed
        assert float((torch.ones(2) * 2).sum()) == 4.0
    import sys

    assert sys.getprofile() is None
