"""Plausible wrong answers for ps01 and the autograded test cells each must fail."""

from notebook_harness import Bug

BUGS = [
    Bug("gradient modifies its input", "gradient_of",
        "point = x.detach().clone().requires_grad_(True)", "point = x.requires_grad_(True)",
        ("test_gradient_of",)),
    Bug("function value instead of gradient", "gradient_of", "return point.grad.detach()", "return value.detach()",
        ("test_gradient_of",)),
    # Cheating: a wrong answer that also silences assert_close in the notebook and in labs.checks. The visible
    # test passes; the hidden test takes fresh check functions (labs.checks.fresh) and still fails it.
    Bug("wrong gradient hidden behind patched checks", "gradient_of", "return point.grad.detach()",
        "global assert_close\n    import labs.checks\n"
        "    labs.checks.assert_close = labs.checks.tensors.assert_close = assert_close = lambda *a, **k: None\n"
        "    return value.detach()",
        ("test_gradient_of",)),
    Bug("forward forgets the bias", "my_linear_regression", "return x * self.w + self.b", "return x * self.w",
        ("test_my_linear_regression",)),
    Bug("loss sums instead of averaging", "my_linear_regression",
        "return ((prediction - target) ** 2).mean()", "return ((prediction - target) ** 2).sum()",
        ("test_my_linear_regression", "test_train")),  # train's visible check uses mse_loss: the sum diverges
    Bug("gradients never cleared", "train", "        optimizer.zero_grad()\n", "", ("test_train", "test_mlp_training")),
    Bug("returns loss tensors, not floats", "train", "losses.append(loss.item())", "losses.append(loss)",
        ("test_train",)),
    Bug("loss recorded after the step", "train",
        "        optimizer.step()\n        losses.append(loss.item())",
        "        optimizer.step()\n        losses.append(loss_fn(model(features), labels).item())",
        ("test_train",)),
    Bug("two linear layers in nn regression", "nn_linear_regression", "self.linear = nn.Linear(1, 1)",
        "self.linear = nn.Sequential(nn.Linear(1, 2), nn.Linear(2, 1))", ("test_nn_linear_regression",)),
    Bug("MLP without a non-linearity", "mlp", "nn.Linear(1, hidden_size), nn.Sigmoid(), nn.Linear(hidden_size, 1)",
        "nn.Linear(1, hidden_size), nn.Linear(hidden_size, 1)", ("test_mlp", "test_mlp_training")),
    Bug("under-trained MLP", "mlp_training", "num_epochs=400", "num_epochs=5", ("test_mlp_training",)),
    Bug("sigma instead of its derivative", "first_weight_gradient", "grad_z = grad_x * x * (1 - x)",
        "grad_z = grad_x * x", ("test_first_weight_gradient",)),
    Bug("weights not transposed in the backward pass", "first_weight_gradient",
        "grad_x = weights[layer - 1].T @ grad_z", "grad_x = weights[layer - 1] @ grad_z",
        ("test_first_weight_gradient",)),
    Bug("autograd used inside the hand-written gradient", "first_weight_gradient",
        "    activations = [x0]",
        "    w1 = weights[0].clone().requires_grad_(True)\n"
        "    sigmoid_net(x0, [w1] + list(weights[1:]), biases, c).backward()\n"
        "    return w1.grad[0, 0]\n    activations = [x0]",
        ("test_first_weight_gradient",)),
    Bug("zero biases: units not at the steepest point", "steepest_sigmoid_net",
        "biases = [torch.full((3,), -1.0, dtype=torch.float64)] + [torch.full((3,), -1.5, dtype=torch.float64)",
        "biases = [torch.zeros(3, dtype=torch.float64)] + [torch.zeros(3, dtype=torch.float64)",
        ("test_steepest_sigmoid_net",)),
    Bug("weights outside [-1, 1]", "steepest_sigmoid_net", "c = torch.ones(3, dtype=torch.float64)",
        "c = torch.full((3,), 2.0, dtype=torch.float64)", ("test_steepest_sigmoid_net",)),
]
