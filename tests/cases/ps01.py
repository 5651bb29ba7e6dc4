"""ps01: plausible wrong answers (each fails exactly its test cells), correct answers written differently (full
marks), and the graded answers the release must not state."""

from notebook_harness import SOLUTION, Bug, Variant

BUGS = [
    # gradient_of
    Bug("gradient modifies its input", "gradient_of",
        "point = x.detach().clone().requires_grad_(True)", "point = x.requires_grad_(True)",
        ("test_gradient_of",), visible=("test_gradient_of",)),
    Bug("function value instead of gradient", "gradient_of", "return point.grad.detach()", "return value.detach()",
        ("test_gradient_of",), visible=("test_gradient_of",)),
    # Cheating: a wrong answer that also rebinds the notebook's assert_close to a function that accepts anything.
    # The visible test passes; the hidden test takes fresh check functions (labs.checks.fresh) and still fails it.
    # (Monkeypatching labs.checks itself is in the hostile corpus, graded in real kernels: in this in-process
    # harness a patched module would stay patched for the runs that follow.)
    Bug("wrong gradient hidden behind a rebound assert_close", "gradient_of", "return point.grad.detach()",
        "global assert_close\n    assert_close = lambda *a, **k: None\n    return value.detach()",
        ("test_gradient_of",)),
    # MyLinearRegression.forward
    Bug("forward forgets the bias", "my_linear_regression", "return x * self.w + self.b", "return x * self.w",
        ("test_my_linear_regression",), visible=("test_my_linear_regression",)),
    Bug("forward returns shape (n,) instead of (n, 1)", "my_linear_regression", "return x * self.w + self.b",
        "return x.squeeze(1) * self.w + self.b", ("test_my_linear_regression",),
        visible=("test_my_linear_regression",)),
    Bug("forward rebuilds the parameters from their values", "my_linear_regression", "return x * self.w + self.b",
        "return x * self.w.item() + self.b.item()", ("test_my_linear_regression",)),
    # mse_loss
    Bug("loss sums instead of averaging", "mse_loss", "return ((prediction - target) ** 2).mean()",
        "return ((prediction - target) ** 2).sum()", ("test_mse_loss",), visible=("test_mse_loss",)),
    Bug("loss without the square", "mse_loss", "return ((prediction - target) ** 2).mean()",
        "return (prediction - target).abs().mean()", ("test_mse_loss",), visible=("test_mse_loss",)),
    Bug("loss detached from the graph", "mse_loss", "return ((prediction - target) ** 2).mean()",
        "return torch.tensor(((prediction - target) ** 2).mean().item())", ("test_mse_loss",),
        visible=("test_mse_loss",)),
    Bug("loss computed in numpy", "mse_loss", "return ((prediction - target) ** 2).mean()",
        "import numpy as np\n    return np.mean((prediction.detach().numpy() - target.detach().numpy()) ** 2)",
        ("test_mse_loss",), visible=("test_mse_loss",)),
    Bug("loss calls F.mse_loss (not allowed)", "mse_loss", "return ((prediction - target) ** 2).mean()",
        "return F.mse_loss(prediction, target)", ("test_mse_loss",), visible=("test_mse_loss",)),
    Bug("loss through nn.MSELoss (not allowed)", "mse_loss", "return ((prediction - target) ** 2).mean()",
        "return nn.MSELoss()(prediction, target)", ("test_mse_loss",), visible=("test_mse_loss",)),
    Bug("loss changes its input in place", "mse_loss", "return ((prediction - target) ** 2).mean()",
        "prediction -= target\n    return (prediction ** 2).mean()", ("test_mse_loss",)),
    # train
    Bug("gradients never cleared", "train", "        optimizer.zero_grad()\n", "", ("test_train",),
        visible=("test_train",)),
    Bug("returns loss tensors, not floats", "train", "losses.append(loss.item())", "losses.append(loss)",
        ("test_train",), visible=("test_train",)),
    Bug("loss recorded after the step", "train",
        "        optimizer.step()\n        losses.append(loss.item())",
        "        optimizer.step()\n        losses.append(loss_fn(model(features), labels).item())",
        ("test_train",), visible=("test_train",)),
    Bug("predictions squeezed to shape (n,)", "train", "loss = loss_fn(model(features), labels)",
        "loss = loss_fn(model(features).squeeze(), labels)", ("test_train",), visible=("test_train",)),
    Bug("one epoch too few", "train", "for _ in range(num_epochs):", "for _ in range(num_epochs - 1):",
        ("test_train",), visible=("test_train",)),
    Bug("two optimiser steps per epoch", "train", "        optimizer.step()\n",
        "        optimizer.step()\n        optimizer.step()\n", ("test_train",), visible=("test_train",)),
    # NNLinearRegression
    Bug("two linear layers in nn regression", "nn_linear_regression", "self.linear = nn.Linear(1, 1)",
        "self.linear = nn.Sequential(nn.Linear(1, 2), nn.Linear(2, 1))", ("test_nn_linear_regression",),
        visible=("test_nn_linear_regression",)),
    Bug("linear layer created inside forward", "nn_linear_regression", "return self.linear(x)",
        "return nn.Linear(1, 1)(x)", ("test_nn_linear_regression",), visible=("test_nn_linear_regression",)),
    # MLP
    Bug("MLP without a non-linearity", "mlp", "nn.Linear(1, hidden_size), nn.Sigmoid(), nn.Linear(hidden_size, 1)",
        "nn.Linear(1, hidden_size), nn.Linear(hidden_size, 1)", ("test_mlp",), visible=("test_mlp",)),
    Bug("MLP with the non-linearity after the output layer", "mlp",
        "nn.Linear(1, hidden_size), nn.Sigmoid(), nn.Linear(hidden_size, 1)",
        "nn.Linear(1, hidden_size), nn.Linear(hidden_size, 1), nn.Sigmoid()", ("test_mlp",), visible=("test_mlp",)),
    Bug("MLP ignores hidden_size", "mlp", "nn.Linear(1, hidden_size), nn.Sigmoid(), nn.Linear(hidden_size, 1)",
        "nn.Linear(1, 2), nn.Sigmoid(), nn.Linear(2, 1)", ("test_mlp",), visible=("test_mlp",)),
    # the MLP recipe
    Bug("under-trained MLP", "mlp_training", "mlp_num_epochs = 400", "mlp_num_epochs = 5", ("test_mlp_training",)),
    Bug("learning rate far too small", "mlp_training", "lr=0.05", "lr=1e-5", ("test_mlp_training",)),
    Bug("more epochs than the recipe may use", "mlp_training", "mlp_num_epochs = 400", "mlp_num_epochs = 1200",
        ("test_mlp_training",), visible=("test_mlp_training",)),
    Bug("recipe's optimiser factory returns nothing", "mlp_training",
        "    return torch.optim.Adam(parameters, lr=0.05)", "    torch.optim.Adam(parameters, lr=0.05)",
        ("test_mlp_training",), visible=("test_mlp_training",)),
    # first_weight_gradient
    Bug("sigma instead of its derivative", "first_weight_gradient", "grad_z = grad_x * x * (1 - x)",
        "grad_z = grad_x * x", ("test_first_weight_gradient",), visible=("test_first_weight_gradient",)),
    Bug("weights not transposed in the backward pass", "first_weight_gradient", "grad_x = W.T @ grad_z",
        "grad_x = W @ grad_z", ("test_first_weight_gradient",), visible=("test_first_weight_gradient",)),
    Bug("input factor forgotten", "first_weight_gradient", "return grad_z[0] * x0[0]", "return grad_z[0]",
        ("test_first_weight_gradient",), visible=("test_first_weight_gradient",)),
    Bug("autograd used inside the hand-written gradient", "first_weight_gradient",
        "    activations = [x0]",
        "    w1 = weights[0].clone().requires_grad_(True)\n"
        "    sigmoid_net(x0, [w1] + list(weights[1:]), biases, c).backward()\n"
        "    return w1.grad[0, 0]\n    activations = [x0]",
        ("test_first_weight_gradient",), visible=("test_first_weight_gradient",)),
    Bug("autograd switched back on with torch.enable_grad", "first_weight_gradient", SOLUTION,
        "    with torch.enable_grad():\n"
        "        w1 = weights[0].detach().clone().requires_grad_(True)\n"
        "        try:\n"
        "            sigmoid_net(x0, [w1, *weights[1:]], biases, c).backward()\n"
        "        except Exception:\n"
        "            pass\n"
        "    return w1.grad[0, 0] if w1.grad is not None else torch.zeros((), dtype=x0.dtype)",
        ("test_first_weight_gradient",), visible=("test_first_weight_gradient",)),
    Bug("gradient through torch.func.grad", "first_weight_gradient", SOLUTION,
        "    net = lambda W1: sigmoid_net(x0, [W1, *weights[1:]], biases, c)\n"
        "    return torch.func.grad(net)(weights[0])[0, 0]",
        ("test_first_weight_gradient",), visible=("test_first_weight_gradient",)),
    # centred_gradient
    Bug("one-sided difference", "centred_gradient", "flat_point[i] = original - h", "flat_point[i] = original",
        ("test_centred_gradient",), visible=("test_centred_gradient",)),
    Bug("one-sided difference divided by h", "centred_gradient", SOLUTION,
        "    point = x.detach().to(torch.float64).clone()\n"
        "    base = f(point)\n"
        "    grad = torch.zeros_like(point)\n"
        "    for i in range(point.numel()):\n"
        "        shifted = point.clone()\n"
        "        shifted.view(-1)[i] += h\n"
        "        grad.view(-1)[i] = (f(shifted) - base) / h\n"
        "    return grad",
        ("test_centred_gradient",), visible=("test_centred_gradient",)),
    Bug("differences in float32", "centred_gradient", "point = x.detach().to(torch.float64).clone()",
        "point = x.detach().clone()", ("test_centred_gradient",), visible=("test_centred_gradient",)),
    Bug("perturbs the caller's x and does not put it back", "centred_gradient", SOLUTION,
        "    point = x.detach().to(torch.float64)\n"
        "    grad = torch.zeros_like(point)\n"
        "    flat_point, flat_grad = point.view(-1), grad.view(-1)\n"
        "    for i in range(flat_point.numel()):\n"
        "        flat_point[i] += h\n"
        "        plus = f(point)\n"
        "        flat_point[i] -= 2 * h\n"
        "        minus = f(point)\n"
        "        flat_grad[i] = (plus - minus) / (2 * h)\n"
        "    return grad",
        ("test_centred_gradient",), visible=("test_centred_gradient",)),
    Bug("ignores the step h it is given", "centred_gradient", "for i in range(flat_point.numel()):",
        "h = 1e-5\n    for i in range(flat_point.numel()):", ("test_centred_gradient",)),
    Bug("estimate taken from autograd", "centred_gradient", SOLUTION,
        "    return gradient_of(f, x.detach().to(torch.float64))",
        ("test_centred_gradient",), visible=("test_centred_gradient",)),
    # relative_error
    Bug("relative error without the 1e-8 floor", "relative_error", ".clamp_min(1e-8)", "",
        ("test_relative_error",), visible=("test_relative_error",)),
    Bug("mean instead of the largest relative error", "relative_error", ".max().item()", ".mean().item()",
        ("test_relative_error",), visible=("test_relative_error",)),
    Bug("error relative to |a| only", "relative_error", "(a64.abs() + b64.abs()).clamp_min(1e-8)",
        "a64.abs().clamp_min(1e-8)", ("test_relative_error",), visible=("test_relative_error",)),
    Bug("relative error returned as a tensor", "relative_error", ".max().item()", ".max()",
        ("test_relative_error",), visible=("test_relative_error",)),
    # steepest_sigmoid_net
    Bug("zero biases: units not at the steepest point", "steepest_sigmoid_net",
        "biases = [torch.full((3,), -1.0, dtype=torch.float64)] + [torch.full((3,), -1.5, dtype=torch.float64)",
        "biases = [torch.zeros(3, dtype=torch.float64)] + [torch.zeros(3, dtype=torch.float64)",
        ("test_steepest_sigmoid_net",), visible=("test_steepest_sigmoid_net",)),
    Bug("weights outside [-1, 1]", "steepest_sigmoid_net", "c = torch.ones(3, dtype=torch.float64)",
        "c = torch.full((3,), 2.0, dtype=torch.float64)", ("test_steepest_sigmoid_net",),
        visible=("test_steepest_sigmoid_net",)),
]

MLP_SOLUTION = ("self.layers = nn.Sequential(nn.Linear(1, hidden_size), nn.Sigmoid(), nn.Linear(hidden_size, 1))\n"
                "        ### END SOLUTION\n\n    def forward(self, x):\n        ### BEGIN SOLUTION\n"
                "        return self.layers(x)")


def mlp(init: str, forward: str) -> str:
    """An MLP answer: ``init`` lines for __init__ and the ``forward`` expression, between the solution markers."""
    return (init.replace("\n", "\n        ") + "\n        ### END SOLUTION\n\n    def forward(self, x):\n"
            f"        ### BEGIN SOLUTION\n        return {forward}")


VARIANTS = [
    # Named in issue 7.
    Variant("top-level names shadowing builtins", "gradient_of", "",
            'sum = 0.0\nmax = 1\nmin = 0\nlen = 3\ntype = "relu"\ninput = None\nid = 7\nlist = []\n'),
    Variant("train returns numpy floats", "train", "losses.append(loss.item())",
            "import numpy as np\n        losses.append(np.float64(loss.item()))"),
    Variant("train with an epoch counter and float(loss)", "train", SOLUTION,
            "    for epoch in range(num_epochs):\n"
            "        predictions = model(features)\n"
            "        loss = loss_fn(predictions, labels)\n"
            "        optimizer.zero_grad()\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        losses.append(float(loss))"),
    Variant("train clears gradients with model.zero_grad() and calls model.train()", "train", SOLUTION,
            "    model.train()\n"
            "    for _ in range(num_epochs):\n"
            "        model.zero_grad()\n"
            "        loss = loss_fn(model(features), labels)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        losses.append(loss.item())"),
    Variant("MLP with ReLU registered before the linear layers", "mlp", MLP_SOLUTION,
            mlp("self.activation = nn.ReLU()\nself.hidden = nn.Linear(1, hidden_size)\n"
                "self.output = nn.Linear(hidden_size, 1)", "self.output(self.activation(self.hidden(x)))")),
    Variant("MLP applying torch.sigmoid in forward", "mlp", MLP_SOLUTION,
            mlp("self.fc1 = nn.Linear(1, hidden_size)\nself.fc2 = nn.Linear(hidden_size, 1)",
                "self.fc2(torch.sigmoid(self.fc1(x)))")),
    Variant("MLP applying torch.relu in forward", "mlp", MLP_SOLUTION,
            mlp("self.fc1 = nn.Linear(1, hidden_size)\nself.fc2 = nn.Linear(hidden_size, 1)",
                "self.fc2(torch.relu(self.fc1(x)))")),
    Variant("mlp_model on the device", "mlp_training",
            "mlp_model = MLP(mlp_hidden_size)\nmlp_losses = train(features, labels,",
            "mlp_model = MLP(mlp_hidden_size).to(device)\nmlp_losses = train(features.to(device), labels.to(device),"),
    # More correct answers written the way students write them.
    Variant("gradient_of with torch.autograd.grad", "gradient_of", SOLUTION,
            "    x_copy = x.detach().clone().requires_grad_(True)\n"
            "    (grad,) = torch.autograd.grad(f(x_copy), x_copy)\n"
            "    return grad"),
    Variant("gradient_of with torch.func.grad", "gradient_of", SOLUTION,
            "    return torch.func.grad(f)(x.detach().clone())"),
    Variant("forward with a matrix product", "my_linear_regression", "return x * self.w + self.b",
            "return x @ self.w.reshape(1, 1) + self.b"),
    Variant("mse_loss with torch.mean", "mse_loss", SOLUTION,
            "    return torch.mean((prediction - target) ** 2)"),
    Variant("mse_loss as a sum over numel", "mse_loss", SOLUTION,
            "    difference = prediction - target\n"
            "    return (difference * difference).sum() / difference.numel()"),
    Variant("NNLinearRegression inside nn.Sequential", "nn_linear_regression", "self.linear = nn.Linear(1, 1)",
            "self.linear = nn.Sequential(nn.Linear(1, 1))"),
    Variant("MLP as a named nn.Sequential", "mlp", MLP_SOLUTION,
            mlp("from collections import OrderedDict\n"
                "self.net = nn.Sequential(OrderedDict(hidden=nn.Linear(1, hidden_size), sigmoid=nn.Sigmoid(),\n"
                "                                     output=nn.Linear(hidden_size, 1)))", "self.net(x)")),
    Variant("recipe with SGD and momentum", "mlp_training", SOLUTION,
            "mlp_hidden_size = 16\n"
            "mlp_num_epochs = 600\n"
            "make_mlp_optimizer = lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9)\n"
            "mlp_model = MLP(mlp_hidden_size)\n"
            "optimizer = make_mlp_optimizer(mlp_model.parameters())\n"
            "mlp_losses = train(features, labels, mlp_model, nn.MSELoss(), optimizer, mlp_num_epochs)"),
    Variant("first_weight_gradient with explicit loops over units", "first_weight_gradient", SOLUTION,
            "    xs = [x0]\n"
            "    for W, b in zip(weights, biases):\n"
            "        z = torch.zeros(3, dtype=x0.dtype)\n"
            "        for j in range(3):\n"
            "            total = b[j]\n"
            "            for k in range(W.shape[1]):\n"
            "                total = total + W[j, k] * xs[-1][k]\n"
            "            z[j] = total\n"
            "        xs.append(1 / (1 + torch.exp(-z)))\n"
            "    g = c.clone()\n"
            "    for layer in range(len(weights) - 1, -1, -1):\n"
            "        x = xs[layer + 1]\n"
            "        delta = torch.zeros(3, dtype=x0.dtype)\n"
            "        for j in range(3):\n"
            "            delta[j] = g[j] * x[j] * (1 - x[j])\n"
            "        if layer == 0:\n"
            "            return delta[0] * x0[0]\n"
            "        W = weights[layer]\n"
            "        g = torch.zeros(W.shape[1], dtype=x0.dtype)\n"
            "        for k in range(W.shape[1]):\n"
            "            for j in range(3):\n"
            "                g[k] = g[k] + W[j, k] * delta[j]"),
    Variant("first_weight_gradient by recursion", "first_weight_gradient", SOLUTION,
            "    def backward_from(layer, x_in):\n"
            "        x_out = torch.sigmoid(weights[layer] @ x_in + biases[layer])\n"
            "        grad_out = c if layer == len(weights) - 1 else backward_from(layer + 1, x_out)[0]\n"
            "        grad_z = grad_out * x_out * (1 - x_out)\n"
            "        return weights[layer].T @ grad_z, grad_z\n"
            "\n"
            "    return backward_from(0, x0)[1][0] * x0[0]"),
    Variant("first_weight_gradient by forward-mode tangents in float64", "first_weight_gradient", SOLUTION,
            "    x = x0.to(torch.float64)\n"
            "    tangent = torch.zeros(x.shape[0], dtype=torch.float64)  # d x_0 / d w11 = 0\n"
            "    for layer, (W, b) in enumerate(zip(weights, biases)):\n"
            "        W, b = W.to(torch.float64), b.to(torch.float64)\n"
            "        dz = W @ tangent\n"
            "        if layer == 0:\n"
            "            dz[0] = dz[0] + x[0]\n"
            "        x = torch.sigmoid(W @ x + b)\n"
            "        tangent = x * (1 - x) * dz\n"
            "    return (c.to(torch.float64) @ tangent).to(x0.dtype)"),
    Variant("centred_gradient building each shifted point", "centred_gradient", SOLUTION,
            "    base = x.detach().to(torch.float64)\n"
            "    grad = torch.zeros_like(base)\n"
            "    for i in range(base.numel()):\n"
            "        step = torch.zeros_like(base)\n"
            "        step.view(-1)[i] = h\n"
            "        grad.view(-1)[i] = (f(base + step) - f(base - step)) / (2 * h)\n"
            "    return grad"),
    Variant("centred_gradient over the rows of h * eye", "centred_gradient", SOLUTION,
            "    base = x.detach().to(torch.float64).reshape(-1)\n"
            "    steps = h * torch.eye(base.numel(), dtype=torch.float64)\n"
            "    values = [(f((base + s).reshape(x.shape)) - f((base - s).reshape(x.shape))) / (2 * h)\n"
            "              for s in steps]\n"
            "    return torch.stack(values).reshape(x.shape)"),
    Variant("centred_gradient perturbing in place and restoring", "centred_gradient", SOLUTION,
            "    x64 = x.detach().to(torch.float64).clone()\n"
            "    flat = x64.reshape(-1)\n"
            "    grad = torch.zeros(flat.numel(), dtype=torch.float64)\n"
            "    for i in range(flat.numel()):\n"
            "        saved = flat[i].clone()\n"
            "        flat[i] += h\n"
            "        f_plus = f(x64).item()\n"
            "        flat[i] = saved - h\n"
            "        f_minus = f(x64).item()\n"
            "        flat[i] = saved\n"
            "        grad[i] = (f_plus - f_minus) / (2 * h)\n"
            "    return grad.reshape(x.shape)"),
    Variant("relative_error with torch.maximum and float()", "relative_error", SOLUTION,
            "    a, b = a.double(), b.double()\n"
            "    denominator = torch.maximum(a.abs() + b.abs(), torch.tensor(1e-8, dtype=torch.float64))\n"
            "    return float(torch.max((a - b).abs() / denominator))"),
    Variant("relative_error in numpy", "relative_error", SOLUTION,
            "    import numpy as np\n"
            "    x, y = a.detach().cpu().double().numpy(), b.detach().cpu().double().numpy()\n"
            "    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))"),
    Variant("steepest net from an all-ones input", "steepest_sigmoid_net", SOLUTION,
            "    x0 = torch.ones(input_dim, dtype=torch.float64)\n"
            "    weights = [torch.ones(3, input_dim, dtype=torch.float64)]\n"
            "    biases = [torch.full((3,), -float(input_dim), dtype=torch.float64)]\n"
            "    for _ in range(depth - 1):\n"
            "        weights.append(torch.ones(3, 3, dtype=torch.float64))\n"
            "        biases.append(-1.5 * torch.ones(3, dtype=torch.float64))\n"
            "    return x0, weights, biases, torch.ones(3, dtype=torch.float64)"),
    Variant("steepest net with negative weights", "steepest_sigmoid_net", SOLUTION,
            "    x0 = torch.zeros(input_dim, dtype=torch.float64)\n"
            "    x0[0] = 1.0\n"
            "    weights = [torch.ones(3, input_dim, dtype=torch.float64)]\n"
            "    weights += [-torch.ones(3, 3, dtype=torch.float64) for _ in range(depth - 1)]\n"
            "    biases = [-torch.ones(3, dtype=torch.float64)] + [1.5 * torch.ones(3, dtype=torch.float64)\n"
            "                                                      for _ in range(depth - 1)]\n"
            "    return x0, weights, biases, -torch.ones(3, dtype=torch.float64)"),
]

#: Graded answers (code and formulas of the solutions) that the release must not state.
ANSWERS = [
    "x.detach().clone().requires_grad_(True)",
    "x * self.w + self.b",
    "(prediction - target) ** 2",
    "losses.append(loss.item())",
    "x * (1 - x)",
    "W.T @ grad_z",
    "grad_z[0] * x0[0]",
    "(plus - minus) / (2 * h)",
    ".clamp_min(1e-8)",
    "torch.full((3,), -1.0",
    "-1.5",
    "draws its initial weight and bias at random",
    r"W_\ell^\top \operatorname{diag}(\phi'(\mathbf z_\ell))",
    r"\|\mathbf g_{\ell-1}\|_\infty \le \tfrac34 \|\mathbf g_\ell\|_\infty",
]

# The course's own helpers are the grader's references: calling them is not writing the checker.
BUGS += [
    Bug("centred_gradient delegates to labs.checks.numerical_gradient", "centred_gradient", SOLUTION,
        "    from labs.checks import numerical_gradient as _reference\n    return _reference(f, x, h)",
        ("test_centred_gradient",)),
    Bug("relative_error delegates to labs.checks.rel_error", "relative_error", SOLUTION,
        "    from labs.checks import rel_error\n    return rel_error(a, b)",
        ("test_relative_error",)),
]
