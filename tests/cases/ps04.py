"""Plausible wrong answers for ps04, the autograded test cells each must fail, and correct variants."""

from notebook_harness import SOLUTION, Bug, Variant

# The five parts share only the imports cell: each bug runs only the parts it touches.
INDEPENDENT_PARTS = True

BUGS = [
    # Part 1: the log-cosh network by hand
    Bug("forward output of shape (N, 1)", "forward", 'return hidden @ params["w2"] + params["b2"]',
        'return (hidden @ params["w2"] + params["b2"]).unsqueeze(1)', ("test_forward",), visible=("test_forward",)),
    Bug("forward forgets b1", "forward", ' + params["b1"])', ")", ("test_forward",)),
    Bug("forward without transposing W1", "forward", 'x @ params["W1"].T', 'x @ params["W1"]', ("test_forward",),
        visible=("test_forward",)),
    Bug("J without the 1/N (a sum)", "cost", "math.log(2.0)).mean()", "math.log(2.0)).sum()", ("test_cost",),
        visible=("test_cost",)),
    Bug("log-cosh overflows (log of cosh)", "cost", "torch.logaddexp(r, -r) - math.log(2.0)",
        "torch.log(torch.cosh(r))",
        ("test_cost",), visible=("test_cost",)),
    Bug("log-cosh without the log 2", "cost", "torch.logaddexp(r, -r) - math.log(2.0)", "torch.logaddexp(r, -r)",
        ("test_cost",), visible=("test_cost",)),
    Bug("cost returns a Python float", "cost", "math.log(2.0)).mean()", "math.log(2.0)).mean().item()", ("test_cost",),
        visible=("test_cost",)),
    Bug("tanh' written as 1 - tanh", "gradients", "(1 - hidden**2)", "(1 - hidden)", ("test_gradients",),
        visible=("test_gradients",)),
    Bug("gradients without the 1/N", "gradients", "torch.tanh(residual) / n", "torch.tanh(residual)",
        ("test_gradients",), visible=("test_gradients",)),
    Bug("dJ/dx with W1 transposed", "gradients", '"x": grad_pre @ W1}', '"x": grad_pre @ W1.T}', ("test_gradients",),
        visible=("test_gradients",)),
    Bug("dJ/db1 averaged instead of summed", "gradients", '"b1": grad_pre.sum(dim=0)', '"b1": grad_pre.mean(dim=0)',
        ("test_gradients",), visible=("test_gradients",)),
    Bug("derivative of log cosh taken as the residual", "gradients", "delta = torch.tanh(residual) / n",
        "delta = residual / n", ("test_gradients",), visible=("test_gradients",)),
    Bug("autograd inside the hand-written gradients", "gradients", SOLUTION,
        "    leaves = {key: value.detach().clone().requires_grad_(True) for key, value in params.items()}\n"
        "    leaves['x'] = x.detach().clone().requires_grad_(True)\n"
        "    cost(forward(leaves['x'], leaves), y).backward()\n"
        "    return {key: leaf.grad for key, leaf in leaves.items()}",
        ("test_gradients",)),
    Bug("forward difference with a large h", "numerical_gradient", SOLUTION,
        "    h = 1e-2  # a step that is not too small\n"
        "    point = x.detach().clone()\n    grad = torch.zeros_like(point)\n"
        "    base = float(f(point))\n"
        "    for i in range(point.numel()):\n"
        "        original = point.view(-1)[i].item()\n"
        "        point.view(-1)[i] = original + h\n"
        "        grad.view(-1)[i] = (float(f(point)) - base) / h\n"
        "        point.view(-1)[i] = original\n"
        "    return grad",
        ("test_numerical_gradient",), visible=("test_numerical_gradient",)),
    Bug("forward difference", "numerical_gradient",
        "            flat_point[i] = original - h\n            minus = float(f(point))\n"
        "            flat_point[i] = original\n"
        "            flat_grad[i] = (plus - minus) / (2 * h)",
        "            flat_point[i] = original\n            minus = float(f(point))\n"
        "            flat_grad[i] = (plus - minus) / h",
        ("test_numerical_gradient",), visible=("test_numerical_gradient",)),
    Bug("centred difference with a large default h", "numerical_gradient", "h=1e-5):", "h=1e-2):",
        ("test_numerical_gradient",), visible=("test_numerical_gradient",)),
    Bug("centred difference divided by h", "numerical_gradient", "(plus - minus) / (2 * h)", "(plus - minus) / h",
        ("test_numerical_gradient",), visible=("test_numerical_gradient",)),
    Bug("finite differences change x in place", "numerical_gradient", "            flat_point[i] = original\n", "",
        ("test_numerical_gradient",), visible=("test_numerical_gradient",)),
    Bug("relative error averaged", "relative_error", ".max().item()", ".mean().item()", ("test_relative_error",),
        visible=("test_relative_error",)),
    Bug("relative error without the 1e-8 floor", "relative_error", "(a.abs() + b.abs()).clamp_min(1e-8)",
        "(a.abs() + b.abs())", ("test_relative_error",), visible=("test_relative_error",)),
    Bug("relative error returned as a tensor", "relative_error", ".max().item()", ".max()", ("test_relative_error",),
        visible=("test_relative_error",)),
    Bug("train_regressor never clears gradients", "train_regressor", "            optimizer.zero_grad()\n", "",
        ("test_train_regressor",), visible=("test_train_regressor",)),
    Bug("train_regressor with SGD", "train_regressor", "torch.optim.Adam(params.values(), lr=lr)",
        "torch.optim.SGD(params.values(), lr=lr)", ("test_train_regressor",), visible=("test_train_regressor",)),
    Bug("one permutation for every epoch", "train_regressor",
        "    for _ in range(epochs):\n        order = torch.randperm(n, generator=generator)\n",
        "    order = torch.randperm(n, generator=generator)\n    for _ in range(epochs):\n",
        ("test_train_regressor",), visible=("test_train_regressor",)),
    Bug("last partial batch dropped", "train_regressor", "range(0, n, batch_size)",
        "range(0, n - batch_size + 1, batch_size)",
        ("test_train_regressor",), visible=("test_train_regressor",)),
    Bug("MSE of the last mini-batch", "train_regressor",
        "train_mse.append(F.mse_loss(forward_fn(x_train, params), y_train).item())",
        "train_mse.append(F.mse_loss(forward_fn(x_train[batch], params), y_train[batch]).item())",
        ("test_train_regressor",), visible=("test_train_regressor",)),
    # Part 2: Jacobians
    Bug("reverse Jacobian transposed", "jacobian_reverse", "return torch.stack(rows)", "return torch.stack(rows).T",
        ("test_jacobian_reverse",), visible=("test_jacobian_reverse",)),
    Bug("reverse mode: gradient of the sum of the outputs", "jacobian_reverse",
        "rows = [torch.autograd.grad(out[p], point, retain_graph=True)[0] for p in range(out.shape[0])]",
        "rows = [torch.autograd.grad(out.sum(), point, retain_graph=True)[0] for p in range(out.shape[0])]",
        ("test_jacobian_reverse",), visible=("test_jacobian_reverse",)),
    Bug("reverse mode computed by forward mode", "jacobian_reverse", SOLUTION,
        "    return torch.func.jacfwd(lambda point: network(point, weights))(x.detach())", ("test_jacobian_reverse",)),
    Bug("forward mode computed by reverse mode", "jacobian_forward", "torch.func.jacfwd", "torch.func.jacrev",
        ("test_jacobian_forward",)),
    Bug("forward mode with one tangent of ones", "jacobian_forward", SOLUTION,
        "    tangent = torch.func.jvp(lambda point: network(point, weights), (x,), (torch.ones_like(x),))[1]\n"
        "    return tangent[:, None].expand(-1, x.shape[0])",
        ("test_jacobian_forward",), visible=("test_jacobian_forward",)),
    Bug("forward mode count without the evaluation of f", "multiplies", "return (1 + D) * one_pass",
        "return D * one_pass", ("test_forward_mode_multiplies",), visible=("test_forward_mode_multiplies",)),
    Bug("forward mode count with L square layers", "multiplies", "(L - 1) * K * K", "L * K * K",
        ("test_forward_mode_multiplies",), visible=("test_forward_mode_multiplies",)),
    Bug("reverse mode count without the evaluation of f", "multiplies", "return (1 + P) * one_pass",
        "return P * one_pass", ("test_reverse_mode_multiplies",), visible=("test_reverse_mode_multiplies",)),
    Bug("reverse mode counted per input", "multiplies", "return (1 + P) * one_pass", "return (1 + D) * one_pass",
        ("test_reverse_mode_multiplies",), visible=("test_reverse_mode_multiplies",)),
    # Part 3: networks by hand
    Bug("XOR instead of XNOR", "xnor_net",
        "net[2].weight.copy_(torch.tensor([[2.0, -1.0]]))\n        net[2].bias.copy_(torch.tensor([1.0]))",
        "net[2].weight.copy_(torch.tensor([[-2.0, 1.0]]))\n        net[2].bias.copy_(torch.tensor([0.0]))",
        ("test_xnor_net",), visible=("test_xnor_net",)),
    Bug("XNOR trained instead of set by hand", "xnor_net", SOLUTION,
        "    torch.manual_seed(0)\n"
        "    net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))\n"
        "    corners = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])\n"
        "    target = torch.tensor([[1.0], [0.0], [0.0], [1.0]])\n"
        "    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)\n"
        "    for _ in range(500):\n"
        "        optimizer.zero_grad()\n"
        "        F.mse_loss(net(corners), target).backward()\n"
        "        optimizer.step()\n"
        "    return net",
        ("test_xnor_net",)),
    Bug("tent not zero right of 1", "tent_net", "[[2.0, -4.0, 2.0]]", "[[2.0, -4.0, 0.0]]", ("test_tent_net",),
        visible=("test_tent_net",)),
    Bug("tent with the wrong slope change at 1/2", "tent_net", "[[2.0, -4.0, 2.0]]", "[[2.0, -2.0, 2.0]]",
        ("test_tent_net",), visible=("test_tent_net",)),
    Bug("tent kinks at 0, 1/2 and 2", "tent_net", "[0.0, -0.5, -1.0]", "[0.0, -0.5, -2.0]", ("test_tent_net",),
        visible=("test_tent_net",)),
    Bug("soft threshold with the negative side flipped", "shrink_net", "[[1.0, -1.0]]", "[[1.0, 1.0]]",
        ("test_shrink_net",), visible=("test_shrink_net",)),
    Bug("soft threshold with s fixed at 0.5", "shrink_net", "net[0].bias.fill_(-s)", "net[0].bias.fill_(-0.5)",
        ("test_shrink_net",)),
    # Part 4: initialisation
    Bug("depth counts every linear layer", "my_model", "[width] * depth", "[width] * (depth - 1)", ("test_my_model",),
        visible=("test_my_model",)),
    Bug("tanh after the output layer", "my_model", "return self.layers[-1](x)", "return torch.tanh(self.layers[-1](x))",
        ("test_my_model",), visible=("test_my_model",)),
    Bug("layers in a plain Python list", "my_model", "self.layers = nn.ModuleList([nn.Linear(a, b)",
        "self.layers = ([nn.Linear(a, b)", ("test_my_model",), visible=("test_my_model",)),
    Bug("Xavier bound without the 6", "init_uniform", "math.sqrt(6 / (", "math.sqrt(1 / (", ("test_init_uniform",),
        visible=("test_init_uniform",)),
    Bug("biases not zeroed", "init_uniform", "                layer.bias.zero_()\n", "", ("test_init_uniform",),
        visible=("test_init_uniform",)),
    Bug("normal instead of uniform weights", "init_uniform",
        "layer.weight.uniform_(-bound, bound, generator=generator)",
        "layer.weight.normal_(0.0, bound, generator=generator)", ("test_init_uniform",),
        visible=("test_init_uniform",)),
    Bug("global random generator instead of the one given", "init_uniform",
        "layer.weight.uniform_(-bound, bound, generator=generator)", "layer.weight.uniform_(-bound, bound)",
        ("test_init_uniform",)),
    Bug("statistics of the pre-activations", "layer_statistics",
        "        x = torch.tanh(layer(x))\n        x.retain_grad()\n        hidden.append(x)\n",
        "        pre = layer(x)\n        pre.retain_grad()\n        hidden.append(pre)\n        x = torch.tanh(pre)\n",
        ("test_layer_statistics",), visible=("test_layer_statistics",)),
    Bug("signed mean of the activations", "layer_statistics", "h.abs().mean()", "h.mean()", ("test_layer_statistics",),
        visible=("test_layer_statistics",)),
    Bug("weight-gradient norms instead of activation gradients", "layer_statistics",
        "[h.grad.norm().item() for h in hidden]", "[layer.weight.grad.norm().item() for layer in model.layers[:-1]]",
        ("test_layer_statistics",), visible=("test_layer_statistics",)),
    Bug("summed cross-entropy", "layer_statistics", "F.cross_entropy(model.layers[-1](x), labels)",
        "F.cross_entropy(model.layers[-1](x), labels, reduction='sum')", ("test_layer_statistics",),
        visible=("test_layer_statistics",)),
    Bug("train_and_track never clears gradients", "train_and_track", "            optimizer.zero_grad()\n", "",
        ("test_train_and_track",), visible=("test_train_and_track",)),
    Bug("train_and_track ignores lr", "train_and_track", "torch.optim.SGD(model.parameters(), lr=lr)",
        "torch.optim.SGD(model.parameters(), lr=0.01)", ("test_train_and_track",), visible=("test_train_and_track",)),
    Bug("train_and_track with Adam", "train_and_track", "torch.optim.SGD(model.parameters(), lr=lr)",
        "torch.optim.Adam(model.parameters(), lr=lr)", ("test_train_and_track",), visible=("test_train_and_track",)),
    Bug("accuracy of the test set reported for both", "train_and_track",
        "train_accuracy.append(accuracy(train_loader))",
        "train_accuracy.append(accuracy(test_loader))", ("test_train_and_track",), visible=("test_train_and_track",)),
    # Part 5: least squares
    Bug("least-squares gradient with the sign flipped", "least_squares", "return X.T @ (X @ w - y)",
        "return X.T @ (y - X @ w)", ("test_ls_gradient",), visible=("test_ls_gradient",)),
    Bug("least-squares gradient divided by N", "least_squares", "return X.T @ (X @ w - y)",
        "return X.T @ (X @ w - y) / X.shape[0]",
        ("test_ls_gradient",), visible=("test_ls_gradient",)),
    Bug("minimiser from the normal equations (singular X^T X)", "least_squares", "return torch.linalg.pinv(X) @ y",
        "return torch.linalg.solve(X.T @ X, X.T @ y)", ("test_ls_minimiser",), visible=("test_ls_minimiser",)),
    Bug("w2 without the second alpha X^T y", "least_squares", "M @ M @ w0 + (eye + M) @ b", "M @ M @ w0 + b",
        ("test_gd_first_iterates",), visible=("test_gd_first_iterates",)),
    Bug("w2 as two steps from w0", "least_squares", "M @ M @ w0 + (eye + M) @ b", "M @ w0 + 2 * b",
        ("test_gd_first_iterates",), visible=("test_gd_first_iterates",)),
    Bug("w_k off by one power", "least_squares", "matrix_power(M, k)", "matrix_power(M, k + 1)", ("test_gd_iterate",),
        visible=("test_gd_iterate",)),
    Bug("w_k forgets w0", "least_squares", "@ (w0 - w_star)", "@ (-w_star)", ("test_gd_iterate",),
        visible=("test_gd_iterate",)),
]

VARIANTS = [
    # One top-level name per builtin the notebook's own code leaves alone, as students write them.
    Variant("top-level names shadowing builtins", "forward", "",
            "sum = 0.0\nmax = 1\nmin = 0\nlen = 3\ntype = 'relu'\ninput = None\nid = 7\nlist = []\n"),
    Variant("forward with einsum", "forward", SOLUTION,
            '    h = torch.tanh(torch.einsum("kd,nd->nk", params["W1"], x) + params["b1"])\n'
            '    return torch.einsum("nk,k->n", h, params["w2"]) + params["b2"]'),
    Variant("forward with F.linear and a float64 detour", "forward", SOLUTION,
            '    h = torch.tanh(F.linear(x.double(), params["W1"].double(), params["b1"].double()))\n'
            '    return (h @ params["w2"].double() + params["b2"].double()).to(x.dtype)'),
    Variant("log-cosh through softplus", "cost", "return (torch.logaddexp(r, -r) - math.log(2.0)).mean()",
            "return (r + F.softplus(-2 * r) - math.log(2.0)).mean()"),
    Variant("log-cosh through |r| and log1p", "cost", "return (torch.logaddexp(r, -r) - math.log(2.0)).mean()",
            "a = r.abs()\n    return (a + torch.log1p(torch.exp(-2 * a)) - math.log(2.0)).mean()"),
    Variant("log-cosh as a sum divided by N", "cost", "return (torch.logaddexp(r, -r) - math.log(2.0)).mean()",
            "return (torch.logaddexp(r, -r) - math.log(2.0)).sum() / r.shape[0]"),
    Variant("gradients accumulated example by example", "gradients", SOLUTION,
            "    n = x.shape[0]\n"
            "    out = {key: torch.zeros_like(value) for key, value in params.items()}\n"
            "    out['x'] = torch.zeros_like(x)\n"
            "    for i in range(n):\n"
            "        u = params['W1'] @ x[i] + params['b1']\n"
            "        h = torch.tanh(u)\n"
            "        d = torch.tanh(h @ params['w2'] + params['b2'] - y[i]) / n\n"
            "        g = d * params['w2'] * (1 - torch.tanh(u) ** 2)\n"
            "        out['b2'] = out['b2'] + d\n"
            "        out['w2'] = out['w2'] + d * h\n"
            "        out['b1'] = out['b1'] + g\n"
            "        out['W1'] = out['W1'] + torch.outer(g, x[i])\n"
            "        out['x'][i] = params['W1'].T @ g\n"
            "    return out"),
    Variant("numerical gradient with basis vectors", "numerical_gradient", SOLUTION,
            "    base = x.detach().clone()\n"
            "    grad = torch.zeros_like(base)\n"
            "    for i in range(base.numel()):\n"
            "        step = torch.zeros_like(base)\n"
            "        step.view(-1)[i] = h\n"
            "        grad.view(-1)[i] = (float(f(base + step)) - float(f(base - step))) / (2 * h)\n"
            "    return grad"),
    Variant("relative error in numpy", "relative_error", SOLUTION,
            "    import numpy as np\n"
            "    a, b = a.detach().cpu().double().numpy(), b.detach().cpu().double().numpy()\n"
            "    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))"),
    Variant("train_regressor with torch.split", "train_regressor", SOLUTION,
            "    optimizer = torch.optim.Adam(list(params.values()), lr=lr)\n"
            "    for epoch in range(epochs):\n"
            "        for batch in torch.split(torch.randperm(x_train.shape[0], generator=generator), batch_size):\n"
            "            loss = loss_fn(forward_fn(x_train[batch], params), y_train[batch])\n"
            "            optimizer.zero_grad()\n"
            "            loss.backward()\n"
            "            optimizer.step()\n"
            "        with torch.no_grad():\n"
            "            train_mse.append(float(((forward_fn(x_train, params) - y_train) ** 2).mean()))\n"
            "            test_mse.append(float(((forward_fn(x_test, params) - y_test) ** 2).mean()))"),
    Variant("reverse Jacobian with autograd.functional", "jacobian_reverse", SOLUTION,
            "    return torch.autograd.functional.jacobian(lambda point: network(point, weights), x)"),
    Variant("reverse Jacobian with jacrev", "jacobian_reverse", SOLUTION,
            "    return torch.func.jacrev(network)(x, weights)"),
    Variant("reverse Jacobian with backward per row", "jacobian_reverse", SOLUTION,
            "    rows = []\n"
            "    for p in range(weights['WF'].shape[0]):\n"
            "        point = x.clone().detach().requires_grad_(True)\n"
            "        network(point, weights)[p].backward()\n"
            "        rows.append(point.grad)\n"
            "    return torch.stack(rows, dim=0)"),
    Variant("forward Jacobian with jvp columns", "jacobian_forward", SOLUTION,
            "    columns = [torch.func.jvp(lambda point: network(point, weights), (x,), (e,))[1]\n"
            "               for e in torch.eye(x.shape[0], dtype=x.dtype)]\n"
            "    return torch.stack(columns, dim=1)"),
    Variant("forward Jacobian with forward_ad dual numbers", "jacobian_forward", SOLUTION,
            "    import torch.autograd.forward_ad as fwAD\n"
            "    columns = []\n"
            "    for d in range(x.shape[0]):\n"
            "        with fwAD.dual_level():\n"
            "            dual = fwAD.make_dual(x, torch.eye(x.shape[0], dtype=x.dtype)[d])\n"
            "            columns.append(fwAD.unpack_dual(network(dual, weights)).tangent)\n"
            "    return torch.stack(columns, dim=1)"),
    Variant("forward Jacobian with tangents pushed by hand", "jacobian_forward", SOLUTION,
            "    h, tangent, i = x, torch.eye(x.shape[0], dtype=x.dtype), 1\n"
            "    while f'W{i}' in weights:\n"
            "        h = torch.tanh(weights[f'W{i}'] @ h)\n"
            "        tangent = (1 - h * h).unsqueeze(1) * (weights[f'W{i}'] @ tangent)\n"
            "        i += 1\n"
            "    return weights['WF'] @ tangent"),
    Variant("operation counts as numpy integers", "multiplies", "return (1 + D) * one_pass",
            "import numpy as np\n    return np.int64(one_pass + D * one_pass)"),
    Variant("XNOR with sigmoid units", "xnor_net", SOLUTION,
            "    net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())\n"
            "    with torch.no_grad():\n"
            "        net[0].weight.copy_(torch.tensor([[20.0, 20.0], [-20.0, -20.0]]))\n"
            "        net[0].bias.copy_(torch.tensor([-30.0, 10.0]))\n"
            "        net[2].weight.copy_(torch.tensor([[20.0, 20.0]]))\n"
            "        net[2].bias.copy_(torch.tensor([-10.0]))\n"
            "    return net"),
    Variant("tent with two hidden layers", "tent_net", SOLUTION,
            "    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 1))\n"
            "    with torch.no_grad():\n"
            "        net[0].weight.copy_(torch.tensor([[2.0], [-2.0]]))\n"
            "        net[0].bias.copy_(torch.tensor([-1.0, 1.0]))\n"
            "        net[2].weight.copy_(torch.tensor([[-1.0, -1.0]]))\n"
            "        net[2].bias.fill_(1.0)\n"
            "        net[4].weight.fill_(1.0)\n"
            "        net[4].bias.zero_()\n"
            "    return net"),
    Variant("soft threshold as a module with F.relu", "shrink_net", SOLUTION,
            "    class Shrink(nn.Module):\n"
            "        def __init__(self):\n"
            "            super().__init__()\n"
            "            self.hidden = nn.Linear(1, 2)\n"
            "            self.out = nn.Linear(2, 1, bias=False)\n"
            "        def forward(self, x):\n"
            "            return self.out(F.relu(self.hidden(x)))\n"
            "    net = Shrink()\n"
            "    with torch.no_grad():\n"
            "        net.hidden.weight.copy_(torch.tensor([[1.0], [-1.0]]))\n"
            "        net.hidden.bias.copy_(torch.tensor([-s, -s]))\n"
            "        net.out.weight.copy_(torch.tensor([[1.0, -1.0]]))\n"
            "    return net"),
    Variant("my_model built in a loop with flatten and F.tanh", "my_model", SOLUTION,
            "        self.layers = nn.ModuleList()\n"
            "        fan_in = 784\n"
            "        for _ in range(depth):\n"
            "            self.layers.append(nn.Linear(fan_in, width))\n"
            "            fan_in = width\n"
            "        self.layers.append(nn.Linear(fan_in, 10))"),
    Variant("my_model forward with flatten and F.tanh", "my_model",
            "        x = x.reshape(x.shape[0], -1)\n        for layer in self.layers[:-1]:\n"
            "            x = torch.tanh(layer(x))\n",
            "        x = x.flatten(1)\n        for layer in self.layers[:-1]:\n            x = F.tanh(layer(x))\n"),
    Variant("init with nn.init and xavier_uniform_", "init_uniform", SOLUTION,
            "    for module in model.modules():\n"
            "        if isinstance(module, nn.Linear):\n"
            "            if d == 'xavier':\n"
            "                nn.init.xavier_uniform_(module.weight, generator=generator)\n"
            "            else:\n"
            "                nn.init.uniform_(module.weight, -d, d, generator=generator)\n"
            "            nn.init.zeros_(module.bias)\n"
            "    return model"),
    Variant("init with torch.rand scaled", "init_uniform", "layer.weight.uniform_(-bound, bound, generator=generator)",
            "layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) * 2 * bound - bound)"),
    Variant("layer statistics with autograd.grad", "layer_statistics", SOLUTION,
            "    x = images.flatten(1)\n"
            "    hidden = []\n"
            "    for layer in model.layers[:-1]:\n"
            "        x = torch.tanh(layer(x))\n"
            "        hidden.append(x)\n"
            "    loss = F.cross_entropy(model.layers[-1](x), labels)\n"
            "    grads = torch.autograd.grad(loss, hidden)\n"
            "    return [float(h.abs().mean()) for h in hidden], [float(g.norm()) for g in grads]"),
    Variant("train_and_track with numpy accuracies", "train_and_track", SOLUTION,
            "    import numpy as np\n"
            "    opt = torch.optim.SGD(model.parameters(), lr=lr)\n"
            "    dev = next(model.parameters()).device\n"
            "    def acc(loader):\n"
            "        hits = []\n"
            "        model.eval()\n"
            "        with torch.no_grad():\n"
            "            for xb, yb in loader:\n"
            "                hits.append((model(xb.to(dev)).argmax(1).cpu() == yb).numpy())\n"
            "        return np.mean(np.concatenate(hits))\n"
            "    train_acc, test_acc = [], []\n"
            "    for epoch in range(epochs):\n"
            "        model.train()\n"
            "        for xb, yb in train_loader:\n"
            "            loss = F.cross_entropy(model(xb.to(dev)), yb.to(dev))\n"
            "            opt.zero_grad()\n"
            "            loss.backward()\n"
            "            opt.step()\n"
            "        train_acc.append(acc(train_loader))\n"
            "        test_acc.append(acc(test_loader))\n"
            "    return train_acc, test_acc"),
    Variant("minimiser with lstsq (gelsd)", "least_squares", "return torch.linalg.pinv(X) @ y",
            'return torch.linalg.lstsq(X, y.unsqueeze(1), driver="gelsd").solution.squeeze(1)'),
    Variant("minimiser with numpy lstsq", "least_squares", "return torch.linalg.pinv(X) @ y",
            "import numpy as np\n"
            "    return torch.from_numpy(np.linalg.lstsq(X.numpy(), y.numpy(), rcond=None)[0])"),
    Variant("first iterates as two gradient steps", "least_squares", "return M @ w0 + b, M @ M @ w0 + (eye + M) @ b",
            "w1 = w0 - alpha * X.T @ (X @ w0 - y)\n    return w1, w1 - alpha * X.T @ (X @ w1 - y)"),
    Variant("w_k as a geometric sum of powers", "least_squares",
            "    w_star = torch.linalg.pinv(X) @ y\n"
            "    M = torch.eye(X.shape[1], dtype=X.dtype) - alpha * X.T @ X\n"
            "    return w_star + torch.linalg.matrix_power(M, k) @ (w0 - w_star)",
            "    M = torch.eye(X.shape[1], dtype=X.dtype) - alpha * X.T @ X\n"
            "    power = torch.eye(X.shape[1], dtype=X.dtype)\n"
            "    total = torch.zeros_like(M)\n"
            "    for _ in range(k):\n"
            "        total = total + power\n"
            "        power = power @ M\n"
            "    return power @ w0 + alpha * total @ X.T @ y"),
]

# Formulas and values of graded answers: none may appear in the release.
ANSWERS = [
    'params["W1"].T + params["b1"]',
    "torch.logaddexp(r, -r)",
    "F.softplus(-2 * r)",
    "(1 - hidden**2)",
    "torch.tanh(residual) / n",
    "1 - \\tanh^2",
    "\\tanh(r^{(i)})",
    "(plus - minus) / (2 * h)",
    "(1 + D) * one_pass",
    "(1 + P) * one_pass",
    "(1 + D)F",
    "(1 + P)F",
    "[[2.0, -4.0, 2.0]]",
    "[0.0, -0.5, -1.0]",
    "net[0].bias.fill_(-s)",
    "X.T @ (X @ w - y)",
    "X^\\top(X\\mathbf w - \\mathbf y)",
    "torch.linalg.pinv(X) @ y",
    "matrix_power(M, k)",
    "(I - \\alpha X^\\top X)^k",
    "h.abs().mean().item()",
    "x.retain_grad()",
]
