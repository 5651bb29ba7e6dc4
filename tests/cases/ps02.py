"""ps02: plausible wrong answers and the autograded test cells each must fail; correct answers written otherwise."""

from notebook_harness import SOLUTION, Bug, Variant

# The six parts share only the imports cell: each bug runs only the parts it touches.
INDEPENDENT_PARTS = True

BUGS = [
    # Part 1: capacity
    Bug("ReLU after the output layer", "make_mlp", "layers.append(nn.Linear(size, out_features))",
        "layers += [nn.Linear(size, out_features), nn.ReLU()]", ("test_make_mlp",), visible=("test_make_mlp",)),
    Bug("one hidden layer too few", "make_mlp", "for _ in range(depth):", "for _ in range(depth - 1):",
        ("test_make_mlp",), visible=("test_make_mlp",)),
    Bug("an nn.Module of its own instead of the nn.Sequential asked for", "make_mlp", "return nn.Sequential(*layers)",
        "class MLP(nn.Module):\n        def __init__(self):\n            super().__init__()\n"
        "            self.layers = nn.Sequential(*layers)\n\n        def forward(self, x):\n"
        "            return self.layers(x)\n\n    return MLP()", ("test_make_mlp",), visible=("test_make_mlp",)),
    Bug("gradients never cleared in fit_full_batch", "fit_full_batch", "        optimizer.zero_grad()\n", "",
        ("test_fit_full_batch",), visible=("test_fit_full_batch",)),
    Bug("SGD instead of Adam", "fit_full_batch", "torch.optim.Adam(model.parameters(), lr=lr)",
        "torch.optim.SGD(model.parameters(), lr=lr)", ("test_fit_full_batch",), visible=("test_fit_full_batch",)),
    Bug("a new Adam at every step", "fit_full_batch",
        "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n    for _ in range(steps):\n",
        "    for _ in range(steps):\n        optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n",
        ("test_fit_full_batch",), visible=("test_fit_full_batch",)),
    Bug("loss tensors instead of floats", "fit_full_batch", "losses.append(loss.item())", "losses.append(loss)",
        ("test_fit_full_batch",), visible=("test_fit_full_batch",)),
    Bug("one network reused for every target", "fit_targets",
        "    for name, target in targets.items():\n        seed_everything(0)\n"
        "        model = make_mlp(2, width, depth, 1).to(points.device)\n",
        "    seed_everything(0)\n    model = make_mlp(2, width, depth, 1).to(points.device)\n"
        "    for name, target in targets.items():\n",
        ("test_fit_targets",), visible=("test_fit_targets",)),
    Bug("a tenth of the training steps", "fit_targets", "target(points), steps, lr)",
        "target(points), steps // 10, lr)", ("test_fit_targets",), visible=("test_fit_targets",)),
    Bug("wider network than asked", "fit_targets", "make_mlp(2, width, depth, 1)", "make_mlp(2, 2 * width, depth, 1)",
        ("test_fit_targets",), visible=("test_fit_targets",)),
    Bug("seed set once, not per target", "fit_targets", "        seed_everything(0)\n", "",
        ("test_fit_targets",)),
    Bug("learning rate ignored", "fit_targets", "target(points), steps, lr)", "target(points), steps, 1e-3)",
        ("test_fit_targets",)),
    # Part 2: MNIST
    Bug("MNIST MLP without hidden activations", "make_mnist_mlp",
        "nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),",
        "nn.Linear(784, 256), nn.Linear(256, 256),", ("test_make_mnist_mlp",), visible=("test_make_mnist_mlp",)),
    Bug("softmax at the end of the MNIST MLP", "make_mnist_mlp", "nn.Linear(256, 10))",
        "nn.Linear(256, 10), nn.Softmax(dim=1))", ("test_make_mnist_mlp",), visible=("test_make_mnist_mlp",)),
    Bug("train_epoch never clears gradients", "train_epoch", "        optimizer.zero_grad()\n", "",
        ("test_train_epoch",), visible=("test_train_epoch",)),
    Bug("train_epoch leaves the model in eval mode", "train_epoch", "    model.train()\n", "",
        ("test_train_epoch",), visible=("test_train_epoch",)),
    Bug("train_epoch returns the last batch loss", "train_epoch", "return total / batches", "return loss.item()",
        ("test_train_epoch",), visible=("test_train_epoch",)),
    Bug("train_epoch never steps", "train_epoch", "        optimizer.step()\n", "",
        ("test_train_epoch",), visible=("test_train_epoch",)),
    Bug("evaluate averages per-batch accuracies", "train_epoch",
        "            correct += (model(images).argmax(dim=1) == labels).sum().item()\n"
        "            total += labels.numel()\n    return correct / total",
        "            correct += (model(images).argmax(dim=1) == labels).float().mean().item()\n"
        "            total += 1\n    return correct / total",
        ("test_evaluate",), visible=("test_evaluate",)),
    Bug("evaluate leaves dropout on", "train_epoch", "    model.eval()\n", "", ("test_evaluate",),
        visible=("test_evaluate",)),
    Bug("fit_mnist monitors the training set", "fit_mnist", "evaluate(model, val_loader, device)",
        "evaluate(model, train_loader, device)", ("test_fit_mnist",)),
    Bug("fit_mnist makes a new optimiser every epoch", "fit_mnist",
        "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n    for epoch in range(1, num_epochs + 1):\n",
        "    for epoch in range(1, num_epochs + 1):\n        optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n",
        ("test_fit_mnist",)),
    Bug("fit_mnist with a fixed learning rate", "fit_mnist", "lr=lr)", "lr=1e-3)", ("test_fit_mnist",)),
    Bug("fit_mnist one epoch short", "fit_mnist", "range(1, num_epochs + 1)", "range(1, num_epochs)",
        ("test_fit_mnist",), visible=("test_fit_mnist",)),
    # Part 3: initialisation
    Bug("biases not zeroed", "initialise", "                    layer.bias.zero_()\n", "", ("test_initialise",)),
    Bug("fan_in and fan_out swapped", "initialise", "std_fn(layer.in_features, layer.out_features)",
        "std_fn(layer.out_features, layer.in_features)", ("test_initialise",)),
    Bug("global random generator instead of the one given", "initialise",
        "torch.randn(layer.weight.shape, generator=generator)", "torch.randn(layer.weight.shape)",
        ("test_initialise",)),
    Bug("stale gradients not cleared", "layer_statistics", "    model.zero_grad()\n", "",
        ("test_layer_statistics",), visible=("test_layer_statistics",)),
    Bug("statistics of each layer's input instead of its output", "layer_statistics",
        "        out = layer(out)\n        if isinstance(layer, nn.Linear):\n            linears.append(layer)\n"
        "            stats[\"mean\"].append(out.mean().item())\n            stats[\"std\"].append(out.std().item())\n",
        "        if isinstance(layer, nn.Linear):\n            linears.append(layer)\n"
        "            stats[\"mean\"].append(out.mean().item())\n            stats[\"std\"].append(out.std().item())\n"
        "        out = layer(out)\n",
        ("test_layer_statistics",), visible=("test_layer_statistics",)),
    Bug("statistics after the ReLU (post-activation)", "layer_statistics",
        "        out = layer(out)\n        if isinstance(layer, nn.Linear):\n            linears.append(layer)\n"
        "            stats[\"mean\"].append(out.mean().item())\n            stats[\"std\"].append(out.std().item())\n",
        "        out = layer(out)\n        if isinstance(layer, nn.Linear):\n            linears.append(layer)\n"
        "        if not isinstance(layer, nn.Linear) or layer is model[-1]:\n"
        "            stats[\"mean\"].append(out.mean().item())\n            stats[\"std\"].append(out.std().item())\n",
        ("test_layer_statistics",), visible=("test_layer_statistics",)),
    Bug("biased standard deviation", "layer_statistics", "out.std().item()", "out.std(correction=0).item()",
        ("test_layer_statistics",), visible=("test_layer_statistics",)),
    Bug("norm of the weights instead of their gradient", "layer_statistics",
        "[layer.weight.grad.norm().item() for layer in linears]", "[layer.weight.norm().item() for layer in linears]",
        ("test_layer_statistics",), visible=("test_layer_statistics",)),
    # Part 4: softmax cross-entropy
    Bug("softmax without max subtraction", "stable_softmax",
        "shifted = logits - logits.max(dim=-1, keepdim=True).values", "shifted = logits",
        ("test_stable_softmax",), visible=("test_stable_softmax",)),
    Bug("one maximum for the whole batch", "stable_softmax",
        "shifted = logits - logits.max(dim=-1, keepdim=True).values", "shifted = logits - logits.max()",
        ("test_stable_softmax",), visible=("test_stable_softmax",)),
    Bug("stable_softmax is torch.softmax", "stable_softmax", SOLUTION, "    return torch.softmax(logits, dim=-1)",
        ("test_stable_softmax",)),
    Bug("stable_softmax through torch.logsumexp", "stable_softmax", SOLUTION,
        "    return torch.exp(logits - torch.logsumexp(logits, dim=-1, keepdim=True))", ("test_stable_softmax",)),
    Bug("log of the softmax probabilities", "cross_entropy",
        "log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
        "log_probs = torch.log(stable_softmax(logits))", ("test_cross_entropy",), visible=("test_cross_entropy",)),
    Bug("cross-entropy summed over the batch", "cross_entropy", "return -(targets * log_probs).sum(dim=-1).mean()",
        "return -(targets * log_probs).sum()", ("test_cross_entropy",), visible=("test_cross_entropy",)),
    Bug("cross_entropy is F.cross_entropy", "cross_entropy", SOLUTION, "    return F.cross_entropy(logits, targets)",
        ("test_cross_entropy",)),
    Bug("cross_entropy through F.log_softmax", "cross_entropy", SOLUTION,
        "    return -(targets * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()", ("test_cross_entropy",)),
    Bug("cross_entropy detached from its input", "cross_entropy",
        "return -(targets * log_probs).sum(dim=-1).mean()",
        "return torch.tensor(-(targets * log_probs).sum(dim=-1).mean().item(), dtype=logits.dtype)",
        ("test_cross_entropy",)),
    Bug("cross_entropy computed in numpy", "cross_entropy", SOLUTION,
        "    import numpy as np\n    x, y = logits.detach().cpu().numpy(), targets.detach().cpu().numpy()\n"
        "    shifted = x - x.max(axis=-1, keepdims=True)\n"
        "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))\n"
        "    return torch.tensor(-(y * log_probs).sum(axis=-1).mean())", ("test_cross_entropy",)),
    Bug("gradient with the sign flipped", "cross_entropy_grad", "(stable_softmax(logits) - targets)",
        "(targets - stable_softmax(logits))", ("test_cross_entropy_grad",), visible=("test_cross_entropy_grad",)),
    Bug("gradient not divided by the batch size", "cross_entropy_grad",
        "return (stable_softmax(logits) - targets) / logits.shape[0]", "return stable_softmax(logits) - targets",
        ("test_cross_entropy_grad",), visible=("test_cross_entropy_grad",)),
    Bug("cross_entropy_grad by autograd", "cross_entropy_grad", SOLUTION,
        "    x = logits.detach().clone().requires_grad_(True)\n    cross_entropy(x, targets).backward()\n"
        "    return x.grad", ("test_cross_entropy_grad",)),
    Bug("cross_entropy_grad by torch.func.grad", "cross_entropy_grad", SOLUTION,
        "    return torch.func.grad(lambda x: cross_entropy(x, targets))(logits)", ("test_cross_entropy_grad",)),
    Bug("label smoothing with eps / (d - 1)", "label_smoothing", "return (1 - eps) * one_hot + eps / num_classes",
        "return (1 - eps) * one_hot + eps / (num_classes - 1) * (1 - one_hot)", ("test_smooth_labels",),
        visible=("test_smooth_labels",)),
    Bug("smoothed labels in float64", "label_smoothing", "one_hot = F.one_hot(labels, num_classes).float()",
        "one_hot = F.one_hot(labels, num_classes).double()", ("test_smooth_labels",), visible=("test_smooth_labels",)),
    Bug("smoothing loss with one-hot targets", "label_smoothing",
        "targets = smooth_labels(labels, logits.shape[-1], eps).to(logits.dtype)",
        "targets = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)", ("test_label_smoothing_loss",),
        visible=("test_label_smoothing_loss",)),
    Bug("smoothing loss is F.cross_entropy(label_smoothing=)", "label_smoothing",
        "    targets = smooth_labels(labels, logits.shape[-1], eps).to(logits.dtype)\n"
        "    return cross_entropy(logits, targets)",
        "    return F.cross_entropy(logits, labels, label_smoothing=eps)", ("test_label_smoothing_loss",)),
    Bug("smoothing loss detached from its input", "label_smoothing", "    return cross_entropy(logits, targets)",
        "    return torch.tensor(cross_entropy(logits, targets).item(), dtype=logits.dtype)",
        ("test_label_smoothing_loss",)),
    Bug("logit gap without eps / d on the label", "label_smoothing",
        "return math.log(1 + num_classes * (1 - eps) / eps)", "return math.log(num_classes * (1 - eps) / eps)",
        ("test_optimal_logit_gap",), visible=("test_optimal_logit_gap",)),
    # Part 5: ReLU initialisation
    Bug("sigma^2 = 1/d", "relu_init", "return math.sqrt(2 / d)", "return math.sqrt(1 / d)", ("test_relu_init_std",)),
    Bug("variance returned instead of the standard deviation", "relu_init", "return math.sqrt(2 / d)",
        "return 2 / d", ("test_relu_init_std",)),
    Bug("simulation without the ReLU", "relu_init", "y = (torch.relu(z) * w).sum(dim=1)", "y = (z * w).sum(dim=1)",
        ("test_relu_output_variance",), visible=("test_relu_output_variance",)),
    Bug("one weight vector shared by all samples", "relu_init",
        "w = sigma * torch.randn(samples, d, generator=generator, dtype=torch.float64)",
        "w = sigma * torch.randn(1, d, generator=generator, dtype=torch.float64)", ("test_relu_output_variance",),
        visible=("test_relu_output_variance",)),
    Bug("weights drawn before the inputs", "relu_init",
        "    z = torch.randn(samples, d, generator=generator, dtype=torch.float64)\n"
        "    w = sigma * torch.randn(samples, d, generator=generator, dtype=torch.float64)\n",
        "    w = sigma * torch.randn(samples, d, generator=generator, dtype=torch.float64)\n"
        "    z = torch.randn(samples, d, generator=generator, dtype=torch.float64)\n",
        ("test_relu_output_variance",), visible=("test_relu_output_variance",)),
    # Part 6: compute and memory
    Bug("batch size forgotten in the forward count", "compute_cost", "return n * K * K * L", "return K * K * L",
        ("test_inference_multiplications",), visible=("test_inference_multiplications",)),
    Bug("backward pass doubles only one matrix product", "compute_cost", "return 3 * n * K * K * L",
        "return 2 * n * K * K * L", ("test_training_multiplications",), visible=("test_training_multiplications",)),
    Bug("training count as a float", "compute_cost", "return 3 * n * K * K * L", "return 3.0 * n * K * K * L",
        ("test_training_multiplications",)),
    Bug("inference keeps every activation", "compute_cost", "return L * K * K + 2 * n * K",
        "return L * K * K + (L + 1) * n * K", ("test_inference_memory",), visible=("test_inference_memory",)),
    Bug("inference memory forgets the weights", "compute_cost", "return L * K * K + 2 * n * K", "return 2 * n * K",
        ("test_inference_memory",), visible=("test_inference_memory",)),
    Bug("training forgets the input activation", "compute_cost", "return L * K * K + (L + 1) * n * K",
        "return L * K * K + L * n * K", ("test_training_memory",), visible=("test_training_memory",)),
    Bug("training memory forgets the weights", "compute_cost", "return L * K * K + (L + 1) * n * K",
        "return (L + 1) * n * K", ("test_training_memory",), visible=("test_training_memory",)),
]

VARIANTS = [
    # named in the issue
    Variant("top-level names shadowing builtins", "make_mlp", "",
            "sum = 0.0\nmax = 1\nmin = 0\nlen = 3\ntype = \"relu\"\ninput = None\nid = 7\nlist = [1, 2]\n"),
    Variant("one ReLU module shared by the hidden layers of make_mlp", "make_mlp", SOLUTION,
            "    act = nn.ReLU()\n    layers = [nn.Linear(in_features, width), act]\n"
            "    for _ in range(depth - 1):\n        layers += [nn.Linear(width, width), act]\n"
            "    return nn.Sequential(*layers, nn.Linear(width, out_features))"),
    Variant("one ReLU module shared in make_mnist_mlp", "make_mnist_mlp", SOLUTION,
            "    act = nn.ReLU()\n"
            "    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), act, nn.Linear(256, 256), act,\n"
            "                         nn.Linear(256, 10))"),
    Variant("fit_full_batch records numpy floats", "fit_full_batch", "losses.append(loss.item())",
            "import numpy as np\n        losses.append(np.float64(loss.item()))"),
    Variant("train_epoch returns np.mean of the batch losses", "train_epoch", SOLUTION,
            "    import numpy as np\n    model.train()\n    batch_losses = []\n"
            "    for images, labels in loader:\n        images, labels = images.to(device), labels.to(device)\n"
            "        optimizer.zero_grad()\n        loss = F.cross_entropy(model(images), labels)\n"
            "        loss.backward()\n        optimizer.step()\n        batch_losses.append(loss.item())\n"
            "    return np.mean(batch_losses)"),
    Variant("evaluate with inference_mode and np.mean over examples", "train_epoch",
            "    model.eval()\n    correct, total = 0, 0\n    with torch.no_grad():\n"
            "        for images, labels in loader:\n"
            "            images, labels = images.to(device), labels.to(device)\n"
            "            correct += (model(images).argmax(dim=1) == labels).sum().item()\n"
            "            total += labels.numel()\n    return correct / total",
            "    import numpy as np\n    model.eval()\n    hits = []\n    with torch.inference_mode():\n"
            "        for images, labels in loader:\n            images, labels = images.to(device), labels.to(device)\n"
            "            hits.extend((model(images).argmax(dim=1) == labels).cpu().numpy().tolist())\n"
            "    return np.mean(hits)"),
    Variant("relu_init_std in float32", "relu_init", "return math.sqrt(2 / d)",
            "return torch.sqrt(torch.tensor(2 / d)).item()"),
    Variant("relu_output_variance as np.float64 from numpy", "relu_init", "return y.var().item()",
            "return y.numpy().var(ddof=1)"),
    Variant("layer_statistics with forward hooks and numpy floats", "layer_statistics", SOLUTION,
            "    import numpy as np\n    model.zero_grad()\n    outputs = []\n"
            "    linears = [m for m in model if isinstance(m, nn.Linear)]\n"
            "    handles = [m.register_forward_hook(lambda mod, inp, out: outputs.append(out.detach()))\n"
            "               for m in linears]\n"
            "    F.cross_entropy(model(x), y).backward()\n    for h in handles:\n        h.remove()\n"
            "    return {\"mean\": [np.float64(z.double().mean().item()) for z in outputs],\n"
            "            \"std\": [np.float64(z.double().std().item()) for z in outputs],\n"
            "            \"grad_norm\": [np.float64(m.weight.grad.norm().item()) for m in linears]}"),
    # more ways students write correct answers
    Variant("make_mlp from an OrderedDict of named layers", "make_mlp", SOLUTION,
            "    from collections import OrderedDict\n    named, size = OrderedDict(), in_features\n"
            "    for i in range(depth):\n        named[f\"fc{i}\"] = nn.Linear(size, width)\n"
            "        named[f\"relu{i}\"] = nn.ReLU()\n        size = width\n"
            "    named[\"out\"] = nn.Linear(size, out_features)\n    return nn.Sequential(named)"),
    Variant("fit_full_batch with model.zero_grad after the step", "fit_full_batch", SOLUTION,
            "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n    for _ in range(steps):\n"
            "        loss = ((model(inputs) - targets) ** 2).mean()\n        loss.backward()\n"
            "        optimizer.step()\n        model.zero_grad()\n        losses.append(float(loss))"),
    Variant("fit_targets with the model on the notebook's device", "fit_targets", ".to(points.device)",
            ".to(device)"),
    Variant("train_epoch with set_to_none=False and a running sum", "train_epoch", "optimizer.zero_grad()",
            "optimizer.zero_grad(set_to_none=False)"),
    Variant("fit_mnist with an enumerate loop and the model moved to the device", "fit_mnist", SOLUTION,
            "    model.to(device)\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    for epoch, _ in enumerate(range(num_epochs)):\n"
            "        losses += [train_epoch(model, train_loader, optimizer, device)]\n"
            "        accuracies += [evaluate(model, val_loader, device)]"),
    Variant("initialise_ with normal_ and nn.init.zeros_", "initialise", SOLUTION,
            "    with torch.no_grad():\n        for layer in model.modules():\n"
            "            if isinstance(layer, nn.Linear):\n"
            "                std = std_fn(layer.in_features, layer.out_features)\n"
            "                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)\n"
            "                if layer.bias is not None:\n                    nn.init.zeros_(layer.bias)\n"
            "    return model"),
    Variant("stable_softmax row by row in float64", "stable_softmax", SOLUTION,
            "    rows = logits.reshape(-1, logits.shape[-1]).double()\n    out = torch.empty_like(rows)\n"
            "    for i in range(rows.shape[0]):\n        e = torch.exp(rows[i] - torch.amax(rows[i]))\n"
            "        out[i] = e / e.sum()\n    return out.reshape(logits.shape).to(logits.dtype)"),
    Variant("cross_entropy with torch.logsumexp", "cross_entropy", SOLUTION,
            "    log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)\n"
            "    return -(targets * log_probs).sum(dim=-1).mean()"),
    Variant("cross_entropy with a helper and a loop over rows", "cross_entropy", SOLUTION,
            "    def row_loss(x, y):\n        m = x.max()\n"
            "        return -(y * (x - m - torch.log(torch.exp(x - m).sum()))).sum()\n"
            "    return torch.stack([row_loss(x, y) for x, y in zip(logits, targets)]).mean()"),
    Variant("cross_entropy_grad with its own exponentials", "cross_entropy_grad", SOLUTION,
            "    n = logits.shape[0]\n    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))\n"
            "    return (e / e.sum(dim=1, keepdim=True) - targets) / n"),
    Variant("smooth_labels with torch.full and scatter_", "label_smoothing", SOLUTION,
            "    out = torch.full((labels.shape[0], num_classes), eps / num_classes)\n"
            "    return out.scatter_(1, labels[:, None], 1 - eps + eps / num_classes)"),
    Variant("optimal_logit_gap as np.float64", "label_smoothing",
            "return math.log(1 + num_classes * (1 - eps) / eps)",
            "import numpy as np\n    return np.log((1 - eps + eps / num_classes) / (eps / num_classes))"),
    Variant("cost counts with loops and numpy integers", "compute_cost", "return n * K * K * L",
            "import numpy as np\n    total = np.int64(0)\n    for _ in range(L):\n        total += n * K * K\n"
            "    return total"),
]

#: Formulas and values of graded answers: none may appear in release/ps02/ps02.ipynb.
ANSWERS = [
    "(z - y) / n", "z - y", "\\mathbf z - \\mathbf y", "z_j - y_j",
    "sqrt(2/fan_in)", "sqrt(2 / fan_in)", "2 / fan_in", "2/\\text{fan\\_in}", "\\sqrt{2 / \\text{fan\\_in}}",
    "16 * 0.25 / 2", "d \\sigma^2 / 2", "\\frac{d \\sigma^2}{2}", "sqrt(2 / d)", "\\sqrt{2/d}",
    "e^{x_k - m}", "x_k - m", "x_i - m", "log(91)", "math.log(1 + num_classes", "1 + \\frac{d(1 - \\varepsilon)}",
    "3 * n * K * K * L", "3 n K^2 L", "(L + 1) * n * K", "2 * n * K",
]
