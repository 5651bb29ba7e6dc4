"""Plausible wrong answers for ps03, the autograded test cells each must fail, and correct variants."""

from notebook_harness import SOLUTION, Bug, Variant

# The six parts share only the preamble (imports, data, training helpers): each bug runs only the parts it touches.
INDEPENDENT_PARTS = True

BUGS = [
    # Part 1: compute and memory
    Bug("inference multiplications without the square of the width", "cost_formulas", "return n * K * K * L",
        "return n * K * L", ("test_inference_multiplications",), visible=("test_inference_multiplications",)),
    Bug("training multiplications without the input gradients", "cost_formulas", "return 3 * n * K * K * L",
        "return 2 * n * K * K * L", ("test_training_multiplications",), visible=("test_training_multiplications",)),
    Bug("inference memory keeps every activation", "cost_formulas", "return L * K * K + 2 * n * K",
        "return L * K * K + (L + 1) * n * K", ("test_inference_memory",), visible=("test_inference_memory",)),
    Bug("training memory forgets the input", "cost_formulas", "return L * K * K + (L + 1) * n * K",
        "return L * K * K + L * n * K", ("test_training_memory",), visible=("test_training_memory",)),
    Bug("training memory as floats", "cost_formulas", "return L * K * K + (L + 1) * n * K",
        "return float(L * K * K + (L + 1) * n * K)", ("test_training_memory",), visible=("test_training_memory",)),
    Bug("FLOPs not halved", "count_multiplications", "return counter.get_total_flops() // 2",
        "return counter.get_total_flops()", ("test_count_multiplications",), visible=("test_count_multiplications",)),
    Bug("backward pass outside the counter", "count_multiplications",
        "        out = model(x)\n        if training:\n            out.sum().backward()",
        "        out = model(x)\n    if training:\n        out.sum().backward()",
        ("test_count_multiplications",), visible=("test_count_multiplications",)),
    Bug("saved bytes count the weights", "saved_activation_bytes",
        "        if tensor.data_ptr() not in parameters:\n            kept[tensor.data_ptr()]",
        "        if True:\n            kept[tensor.data_ptr()]",
        ("test_saved_activation_bytes",), visible=("test_saved_activation_bytes",)),
    Bug("saved bytes count a shared tensor twice", "saved_activation_bytes",
        "kept[tensor.data_ptr()] = tensor.numel() * tensor.element_size()",
        "kept[len(kept)] = tensor.numel() * tensor.element_size()",
        ("test_saved_activation_bytes",), visible=("test_saved_activation_bytes",)),
    Bug("saved bytes assume 4 bytes per value", "saved_activation_bytes", "tensor.numel() * tensor.element_size()",
        "tensor.numel() * 4", ("test_saved_activation_bytes",)),
    Bug("parameters recognised by identity, not by memory", "saved_activation_bytes",
        "        if tensor.data_ptr() not in parameters:",
        "        if not any(tensor is p for p in model.parameters()):",
        ("test_saved_activation_bytes",), visible=("test_saved_activation_bytes",)),
    Bug("counted multiplications equal the formula", "counted_costs", "return (3 * L - 1) * n * K * K",
        "return 3 * n * K * K * L", ("test_counted_training_multiplications",),
        visible=("test_counted_training_multiplications",)),
    Bug("counted bytes include the network's output", "counted_costs", "return 4 * L * n * K",
        "return 4 * (L + 1) * n * K", ("test_counted_activation_bytes",), visible=("test_counted_activation_bytes",)),
    Bug("counted activations in numbers, not bytes", "counted_costs", "return 4 * L * n * K", "return L * n * K",
        ("test_counted_activation_bytes",), visible=("test_counted_activation_bytes",)),
    Bug("conv multiplications without the input channels", "conv2d_multiplications",
        "batch * c_out * h_out * w_out * c_in * kernel_size * kernel_size",
        "batch * c_out * h_out * w_out * kernel_size * kernel_size",
        ("test_conv2d_multiplications",), visible=("test_conv2d_multiplications",)),
    Bug("conv multiplications with a 1-D kernel", "conv2d_multiplications",
        "batch * c_out * h_out * w_out * c_in * kernel_size * kernel_size",
        "batch * c_out * h_out * w_out * c_in * kernel_size",
        ("test_conv2d_multiplications",), visible=("test_conv2d_multiplications",)),
    # Part 2: initialisation
    Bug("forward std without the ReLU's factor", "forward_init_std", "math.sqrt(2.0 / fan_in)",
        "math.sqrt(1.0 / fan_in)",
        ("test_forward_init_std",), visible=("test_forward_init_std",)),
    Bug("variance returned instead of the std", "forward_init_std", "math.sqrt(2.0 / fan_in)", "2.0 / fan_in",
        ("test_forward_init_std",), visible=("test_forward_init_std",)),
    Bug("backward std without the ReLU's factor", "backward_init_std", "math.sqrt(2.0 / fan_out)",
        "math.sqrt(1.0 / fan_out)", ("test_backward_init_std",), visible=("test_backward_init_std",)),
    Bug("conv fan-in counts the channels only", "fan_in", "return layer.weight[0].numel()",
        "return layer.weight.shape[1]", ("test_fan_in",), visible=("test_fan_in",)),
    Bug("fan-in counts the outputs", "fan_in", "return layer.weight[0].numel()", "return layer.weight[:, 0].numel()",
        ("test_fan_in",), visible=("test_fan_in",)),
    Bug("activation variances without the ReLU", "activation_variances", "y = torch.relu(y) @ weights",
        "y = y @ weights", ("test_activation_variances",), visible=("test_activation_variances",)),
    Bug("activation variances after the ReLU", "activation_variances", "variances.append(y.var().item())",
        "variances.append(torch.relu(y).var().item())", ("test_activation_variances",)),
    Bug("activation variances overwrite the inputs", "activation_variances", "y = torch.relu(y) @ weights",
        "y = torch.relu_(y) @ weights", ("test_activation_variances",)),
    # Part 3: optimisers
    Bug("Adam stores three values", "optimizer_memory", '"Adam": 2', '"Adam": 3', ("test_optimizer_memory",)),
    Bug("SGDM with dampening", "sgdm", 'momentum.mul_(group["beta"]).add_(p.grad)',
        'momentum.mul_(group["beta"]).add_(p.grad, alpha=1 - group["beta"])', ("test_sgdm",), visible=("test_sgdm",)),
    Bug("SGDM momentum kept outside self.state", "sgdm", "state = self.state[p]",
        'state = self.__dict__.setdefault("buffers", {}).setdefault(p, {})', ("test_sgdm",), visible=("test_sgdm",)),
    Bug("SGDM crashes on a parameter without gradient", "sgdm",
        "                if p.grad is None:\n                    continue\n", "", ("test_sgdm",)),
    Bug("SGDM runs torch.optim's functional sgd", "sgdm", SOLUTION,
        "        from torch.optim.sgd import sgd as functional_sgd\n\n"
        "        for group in self.param_groups:\n"
        '            params = [p for p in group["params"] if p.grad is not None]\n'
        '            buffers = [self.state[p].get("momentum") for p in params]\n'
        "            functional_sgd(params, [p.grad for p in params], buffers, weight_decay=0.0,\n"
        '                                momentum=group["beta"], lr=group["lr"], dampening=0.0, nesterov=False,\n'
        "                                maximize=False)\n"
        "            for p, buffer in zip(params, buffers):\n"
        '                self.state[p]["momentum"] = buffer',
        ("test_sgdm",)),
    Bug("Adam without bias correction", "adam",
        '                m_hat = state["m"] / (1 - beta1**t)\n                v_hat = state["v"] / (1 - beta2**t)',
        '                m_hat = state["m"]\n                v_hat = state["v"]', ("test_adam",),
        visible=("test_adam",)),
    Bug("Adam with eps inside the square root", "adam", 'v_hat.sqrt() + group["eps"]', '(v_hat + group["eps"]).sqrt()',
        ("test_adam",), visible=("test_adam",)),
    Bug("Adam without (1 - beta1) in the momentum", "adam", 'state["m"].mul_(beta1).add_(p.grad, alpha=1 - beta1)',
        'state["m"].mul_(beta1).add_(p.grad)', ("test_adam",), visible=("test_adam",)),
    Bug("Adam step count kept outside self.state", "adam",
        '                state["step"] += 1\n                t = state["step"]',
        '                t = self.__dict__.setdefault("counts", {}).get(id(p), 0) + 1\n'
        '                self.__dict__["counts"][id(p)] = t', ("test_adam",)),
    Bug("Adam stores the corrected moments too", "adam", '                p.sub_(group["lr"]',
        '                state["m_hat"] = m_hat\n                p.sub_(group["lr"]', ("test_adam",),
        visible=("test_adam",)),
    Bug("SGDM constant gradient: w from the last momentum only", "sgdm_constant_gradient",
        "w = -lr * c / (1 - beta) * (t - beta * (1 - beta**t) / (1 - beta))", "w = -lr * t * m",
        ("test_sgdm_constant_gradient",), visible=("test_sgdm_constant_gradient",)),
    Bug("SGDM constant gradient: momentum as an average", "sgdm_constant_gradient",
        "m = c * (1 - beta**t) / (1 - beta)", "m = c * (1 - beta**t)",
        ("test_sgdm_constant_gradient",), visible=("test_sgdm_constant_gradient",)),
    Bug("Adam constant gradient: w proportional to c", "adam_constant_gradient", "return -lr * t, m, v, c, c * c",
        "return -lr * t * c, m, v, c, c * c", ("test_adam_constant_gradient",),
        visible=("test_adam_constant_gradient",)),
    Bug("Adam constant gradient: uncorrected m_hat and v_hat", "adam_constant_gradient",
        "return -lr * t, m, v, c, c * c", "return -lr * t, m, v, m, v", ("test_adam_constant_gradient",)),
    Bug("w dependence swapped", "w_dependence", '{"SGDM": "proportional to c", "Adam": "independent of c"}',
        '{"SGDM": "independent of c", "Adam": "proportional to c"}', ("test_w_dependence",)),
    # Part 4: receptive fields
    Bug("output width with the padding on one side", "conv_output_width", "(w_in + 2 * p - k) // s + 1",
        "(w_in + p - k) // s + 1", ("test_conv_output_width",), visible=("test_conv_output_width",)),
    Bug("output width rounded up", "conv_output_width", "(w_in + 2 * p - k) // s + 1", "-((k - w_in - 2 * p) // s) + 1",
        ("test_conv_output_width",), visible=("test_conv_output_width",)),
    Bug("minimum input width ignores the padding", "min_input_width", "(w_out - 1) * s + k - 2 * p",
        "(w_out - 1) * s + k", ("test_min_input_width",), visible=("test_min_input_width",)),
    Bug("minimum input width with one stride too many", "min_input_width", "(w_out - 1) * s + k - 2 * p",
        "w_out * s + k - 2 * p - 1", ("test_min_input_width",), visible=("test_min_input_width",)),
    Bug("receptive field widened by the padding", "receptive_field", SOLUTION,
        "    field = 1\n"
        "    for k, p, s in zip(reversed(kernels), reversed(paddings), reversed(strides)):\n"
        "        field = (field - 1) * s + k + 2 * p\n"
        "    return field",
        ("test_receptive_field",), visible=("test_receptive_field",)),
    Bug("receptive field walks the layers forwards", "receptive_field",
        "zip(reversed(kernels), reversed(strides))", "zip(kernels, strides)",
        ("test_receptive_field",), visible=("test_receptive_field",)),
    Bug("receptive field ignores the strides", "receptive_field", "field = (field - 1) * s + k",
        "field = field + k - 1",
        ("test_receptive_field",), visible=("test_receptive_field",)),
    # Part 5: CNN and ResNet
    Bug("CNN without its first ReLU", "make_cnn", "nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),",
        "nn.Conv2d(1, 16, 3, padding=1), nn.MaxPool2d(2),", ("test_make_cnn",), visible=("test_make_cnn",)),
    Bug("CNN without padding", "make_cnn", "nn.Conv2d(1, 16, 3, padding=1), nn.ReLU()",
        "nn.Conv2d(1, 16, 3), nn.ReLU()",
        ("test_make_cnn", "test_cnn_accuracy"), visible=("test_make_cnn",)),
    Bug("residual block always projects (stride != 0)", "residual_block",
        "if stride != 1 or in_channels != out_channels:", "if stride != 0 or in_channels != out_channels:",
        ("test_residual_block",), visible=("test_residual_block",)),
    Bug("residual block: ReLU before the addition", "residual_block",
        "return torch.relu(self.residual(x) + self.shortcut(x))",
        "return torch.relu(self.residual(x)) + self.shortcut(x)", ("test_residual_block",),
        visible=("test_residual_block",)),
    Bug("residual block without the skip connection", "residual_block",
        "return torch.relu(self.residual(x) + self.shortcut(x))", "return torch.relu(self.residual(x))",
        ("test_residual_block",), visible=("test_residual_block",)),
    Bug("projection without batch norm", "residual_block",
        "nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),\n"
        "                                          nn.BatchNorm2d(out_channels))",
        "nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)", ("test_residual_block",)),
    Bug("residual convolutions with biases", "residual_block",
        "nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)",
        "nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)", ("test_residual_block",)),
    Bug("ResNet stem without pooling", "make_resnet", "nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),",
        "nn.BatchNorm2d(16), nn.ReLU(),", ("test_make_resnet", "test_resnet_accuracy"), visible=("test_make_resnet",)),
    Bug("ResNet second block without stride", "make_resnet", "ResidualBlock(16, 32, 2)", "ResidualBlock(16, 32, 1)",
        ("test_make_resnet",)),
    Bug("ResNet blocks in the wrong order", "make_resnet", "ResidualBlock(16, 16, 1), ResidualBlock(16, 32, 2)",
        "ResidualBlock(16, 32, 2), ResidualBlock(16, 16, 1)", ("test_make_resnet", "test_resnet_accuracy"),
        visible=("test_make_resnet",)),
    # Part 6: inductive bias
    Bug("MLP classifier without a hidden activation", "make_mlp_classifier",
        "nn.Linear(canvas * canvas, 128), nn.ReLU(), nn.Linear(128, 10)",
        "nn.Linear(canvas * canvas, 128), nn.Linear(128, 10)", ("test_make_mlp_classifier",),
        visible=("test_make_mlp_classifier",)),
    Bug("MLP classifier of the wrong width", "make_mlp_classifier",
        "nn.Linear(canvas * canvas, 128), nn.ReLU(), nn.Linear(128, 10)",
        "nn.Linear(canvas * canvas, 64), nn.ReLU(), nn.Linear(64, 10)", ("test_make_mlp_classifier",),
        visible=("test_make_mlp_classifier",)),
    Bug("CNN classifier sized for a 40 x 40 canvas only", "make_cnn_classifier",
        "nn.Linear(16 * (canvas // 4) ** 2, 10)",
        "nn.Linear(16 * 10 * 10, 10)", ("test_make_cnn_classifier",)),
    Bug("CNN classifier with one pooling", "make_cnn_classifier",
        "nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
        "        nn.Flatten(), nn.Linear(16 * (canvas // 4) ** 2, 10))",
        "nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),\n        nn.Flatten(), nn.Linear(16 * (canvas // 2) ** 2, 10))",
        ("test_make_cnn_classifier",), visible=("test_make_cnn_classifier",)),
]

VARIANTS = [
    # Names a student may well use at top level; none of them is needed by the notebook's locked or solution code.
    Variant("top-level names shadowing builtins", "cost_formulas", "",
            'sum = 0.0\nmax = 1\nmin = 0\nlen = 3\ntype = "relu"\ninput = None\nid = 7\nlist = []\n'),
    Variant("formulas with ** and a helper", "cost_formulas", SOLUTION,
            "    def per_layer(rows, width):\n        return rows * width**2\n\n    return per_layer(n, K) * L"),
    Variant("multiplications halved with / and int()", "count_multiplications", "return counter.get_total_flops() // 2",
            "return int(counter.get_total_flops() / 2)"),
    Variant("total read from the counter's per-module table", "count_multiplications",
            "return counter.get_total_flops() // 2",
            'return sum(counter.get_flop_counts()["Global"].values()) // 2'),
    Variant("saved bytes by storage pointer and a numpy total", "saved_activation_bytes", SOLUTION,
            "    import numpy as np\n\n"
            "    params = set()\n"
            "    for parameter in model.parameters():\n"
            "        params.add(parameter.untyped_storage().data_ptr())\n"
            "    sizes = {}\n\n"
            "    def remember(t):\n"
            "        key = t.untyped_storage().data_ptr()\n"
            "        if key not in params:\n"
            "            sizes[key] = t.nelement() * t.element_size()\n"
            "        return t\n\n"
            "    with torch.autograd.graph.saved_tensors_hooks(remember, lambda t: t):\n"
            "        model(x)\n"
            "    return np.sum(np.array([*sizes.values()], dtype=np.int64))"),
    Variant("init std in float32 torch", "forward_init_std", "return math.sqrt(2.0 / fan_in)",
            "return torch.sqrt(torch.tensor(2 / fan_in)).item()"),
    Variant("init std as numpy float", "backward_init_std", "return math.sqrt(2.0 / fan_out)",
            "import numpy as np\n    return np.sqrt(2 / fan_out)"),
    Variant("fan-in from the layer's attributes", "fan_in", "return layer.weight[0].numel()",
            "if isinstance(layer, nn.Linear):\n        return layer.in_features\n"
            "    return layer.in_channels * math.prod(layer.kernel_size)"),
    Variant("activation variances as numpy mean squares", "activation_variances", SOLUTION,
            "    import numpy as np\n\n"
            "    out = []\n"
            "    current = inputs.clone()\n"
            "    for layer in range(depth):\n"
            "        w = weight_std * torch.randn(inputs.shape[1], inputs.shape[1])\n"
            "        current = F.relu(current) @ w\n"
            "        out.append(np.mean(current.numpy() ** 2))\n"
            "    return out"),
    Variant("SGDM with new tensors and a differently named buffer", "sgdm", SOLUTION,
            "        for group in self.param_groups:\n"
            '            lr, beta = group["lr"], group["beta"]\n'
            '            for w in group["params"]:\n'
            "                if w.grad is not None:\n"
            '                    buf = beta * self.state[w].get("buf", torch.zeros_like(w)) + w.grad\n'
            '                    self.state[w]["buf"] = buf\n'
            "                    w -= lr * buf"),
    Variant("Adam written like torch's (step as a tensor, scaled step size)", "adam", SOLUTION,
            "        for group in self.param_groups:\n"
            '            b1, b2 = group["betas"]\n'
            '            for p in group["params"]:\n'
            "                if p.grad is None:\n"
            "                    continue\n"
            "                state = self.state[p]\n"
            "                if not state:\n"
            '                    state["step"] = torch.tensor(0.0)\n'
            '                    state["exp_avg"] = torch.zeros_like(p)\n'
            '                    state["exp_avg_sq"] = torch.zeros_like(p)\n'
            '                state["step"] += 1\n'
            '                step = state["step"].item()\n'
            '                state["exp_avg"].lerp_(p.grad, 1 - b1)\n'
            '                state["exp_avg_sq"].mul_(b2).add_(p.grad * p.grad * (1 - b2))\n'
            "                correction1 = 1 - b1**step\n"
            "                correction2 = 1 - b2**step\n"
            '                denom = state["exp_avg_sq"].sqrt() / math.sqrt(correction2) + group["eps"]\n'
            '                p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / correction1)'),
    Variant("SGDM constant gradient by simulating the recursion", "sgdm_constant_gradient", SOLUTION,
            "    w, m = 0.0, 0.0\n"
            "    for _ in range(t):\n"
            "        m = beta * m + c\n"
            "        w = w - lr * m\n"
            "    return w, m"),
    Variant("Adam constant gradient with numpy and a list", "adam_constant_gradient", SOLUTION,
            "    import numpy as np\n\n"
            "    m = np.float64(c) * (1 - np.power(beta1, t))\n"
            "    v = np.float64(c) ** 2 * (1 - np.power(beta2, t))\n"
            "    m_hat = m / (1 - beta1**t)\n"
            "    v_hat = v / (1 - beta2**t)\n"
            "    return [-lr * t * m_hat / np.sqrt(v_hat), m, v, m_hat, v_hat]"),
    Variant("output width with math.floor", "conv_output_width", "return (w_in + 2 * p - k) // s + 1",
            "return math.floor((w_in + 2 * p - k) / s) + 1"),
    Variant("receptive field as a sum over layers", "receptive_field", SOLUTION,
            "    field, jump = 1, 1\n"
            "    for layer in range(kernels.__len__()):\n"
            "        field += (kernels[layer] - 1) * jump\n"
            "        jump *= strides[layer]\n"
            "    return field"),
    Variant("CNN as a module with functional layers and view", "make_cnn", SOLUTION,
            "    class SmallCNN(nn.Module):\n"
            "        def __init__(self):\n"
            "            super().__init__()\n"
            "            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)\n"
            "            self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)\n"
            "            self.fc = nn.Linear(1568, 10)\n\n"
            "        def forward(self, x):\n"
            "            x = F.max_pool2d(F.relu(self.conv1(x)), 2)\n"
            "            x = F.relu(F.max_pool2d(self.conv2(x), 2))\n"
            "            return self.fc(x.view(x.shape[0], -1))\n\n"
            "    return SmallCNN()"),
    Variant("residual block: shortcut first, empty Sequential, F.relu", "residual_block", SOLUTION,
            "        layers = [nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1,\n"
            "                            bias=False),\n"
            "                  nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),\n"
            "                  nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),\n"
            "                  nn.BatchNorm2d(out_channels)]\n"
            "        self.residual = nn.Sequential(*layers)\n"
            "        self.shortcut = nn.Sequential()\n"
            "        if in_channels != out_channels or stride > 1:\n"
            "            self.shortcut = nn.Sequential(\n"
            "                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),\n"
            "                nn.BatchNorm2d(out_channels))\n"
            "        self.act = nn.ReLU()"),
    Variant("residual block forward with the shortcut computed first", "residual_block",
            "return torch.relu(self.residual(x) + self.shortcut(x))",
            "skip = self.shortcut(x)\n        return F.relu(skip + self.residual(x))"),
    Variant("ResNet as a module with mean pooling", "make_resnet", SOLUTION,
            "    class TinyResNet(nn.Module):\n"
            "        def __init__(self):\n"
            "            super().__init__()\n"
            "            self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16))\n"
            "            self.blocks = nn.Sequential(ResidualBlock(16, 16), ResidualBlock(16, 32, stride=2),\n"
            "                                        ResidualBlock(32, 32))\n"
            "            self.head = nn.Linear(32, 10)\n\n"
            "        def forward(self, x):\n"
            "            x = F.max_pool2d(torch.relu(self.stem(x)), 2)\n"
            "            x = self.blocks(x).mean(dim=(2, 3))\n"
            "            return self.head(x)\n\n"
            "    return TinyResNet()"),
    Variant("MLP classifier with torch.flatten in a module", "make_mlp_classifier", SOLUTION,
            "    class Net(nn.Module):\n"
            "        def __init__(self, size):\n"
            "            super().__init__()\n"
            "            self.hidden = nn.Linear(size * size, 128)\n"
            "            self.out = nn.Linear(128, 10)\n\n"
            "        def forward(self, x):\n"
            "            return self.out(self.hidden(torch.flatten(x, 1)).relu())\n\n"
            "    return Net(canvas)"),
    Variant("CNN classifier computing its linear size with a dummy input", "make_cnn_classifier", SOLUTION,
            "    features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
            "                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())\n"
            "    with torch.no_grad():\n"
            "        size = features(torch.zeros(1, 1, canvas, canvas)).shape[1]\n"
            "    return nn.Sequential(*features, nn.Linear(size, 10))"),
]

# Formulas and values of graded answers, as a solution would write them: none may appear in the release.
ANSWERS = [
    "3 * n * K * K * L", "L * K * K + 2 * n * K", "(L + 1) * n * K", "(3 * L - 1)", "3L - 1", "4 * L * n * K",
    "c_in * kernel_size * kernel_size", "C_in * k * k", "2.0 / fan_in", "2 / fan_in", "2.0 / fan_out", "2 / fan_out",
    "d \\sigma^2 / 2", "\\sigma^2 = 2/d", "sqrt(2/d)", "layer.weight[0].numel()",
    '"SGDM": 1, "Adam": 2', "-lr * t", "-\\eta t", "c * (1 - beta1**t)", "(1 - beta**t) / (1 - beta)",
    '"Adam": "independent of c"', "(w_in + 2 * p - k) // s + 1", "(w_out - 1) * s + k - 2 * p",
    "(field - 1) * s + k", "W_{in} + 2P - K", "38266", "20490",
]
