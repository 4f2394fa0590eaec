#!/usr/bin/python3
"""PyTorch oracle for Mesh's LoRA backward pass (TorchOracleTests).

Reads a JSON file written by the test (model weights, LoRA factors, examples), runs the Llama forward
pass in float64 with torch autograd (RMSNorm, Q/K/V/O with biases, adjacent-pair RoPE as llama.cpp's
`llama` architecture, causal grouped-query attention, SwiGLU, untied classifier, cross-entropy on the
target positions only, mean over all target tokens of the batch) with y += scale * B @ (A @ x) on every
adapted projection, and prints one JSON object: {"loss": mean NLL, "slots": [{"a": dL/dA, "b": dL/dB}]}
in the input's slot order. Written independently of Mesh's C# code, from the Llama and PEFT definitions.
"""
import json
import sys

import torch

TARGETS = {"Query": "wq", "Key": "wk", "Value": "wv", "Output": "wo", "Gate": "w1", "Up": "w3", "Down": "w2"}
BIASES = {"Query": "bq", "Key": "bk", "Value": "bv", "Output": "bo"}


def tensor(values, *shape):
    return torch.tensor(values, dtype=torch.float64).reshape(*shape)


def main(path):
    with open(path) as f:
        data = json.load(f)
    c = data["config"]
    dim, hidden, heads, kv_heads, vocab = c["dim"], c["hidden"], c["heads"], c["kv_heads"], c["vocab"]
    head_dim = dim // heads
    eps, theta = c["eps"], c["theta"]

    embedding = tensor(data["embedding"], vocab, dim)
    classifier = tensor(data["classifier"], vocab, dim)
    output_norm = tensor(data["output_norm"], dim)
    shapes = {"wq": (heads * head_dim, dim), "wk": (kv_heads * head_dim, dim), "wv": (kv_heads * head_dim, dim),
              "wo": (dim, heads * head_dim), "w1": (hidden, dim), "w3": (hidden, dim), "w2": (dim, hidden)}
    layers = []
    for layer in data["layers"]:
        w = {name: tensor(layer[name], *shape) for name, shape in shapes.items()}
        w["attention_norm"] = tensor(layer["attention_norm"], dim)
        w["ffn_norm"] = tensor(layer["ffn_norm"], dim)
        for bias in BIASES.values():
            w[bias] = tensor(layer[bias], -1) if layer.get(bias) is not None else None
        layers.append(w)

    scale = data["lora"]["scale"]
    slots = []
    adapted = {}
    for s in data["lora"]["slots"]:
        a = tensor(s["a"], s["rank"], s["inputs"]).requires_grad_(True)
        b = tensor(s["b"], s["outputs"], s["rank"]).requires_grad_(True)
        slots.append((a, b))
        adapted[(s["layer"], s["target"])] = (a, b)

    def project(layer_index, target, x):
        w = layers[layer_index]
        y = x @ w[TARGETS[target]].T
        bias = w.get(BIASES.get(target, ""), None)
        if bias is not None:
            y = y + bias
        if (layer_index, target) in adapted:
            a, b = adapted[(layer_index, target)]
            y = y + scale * ((x @ a.T) @ b.T)
        return y

    def rms_norm(x, weight):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * weight

    def rope(x, n_heads):
        # x: [n, n_heads * head_dim]; pairs (2j, 2j+1) rotated by pos * theta^(-2j/head_dim).
        n = x.shape[0]
        pos = torch.arange(n, dtype=torch.float64)[:, None]
        freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        angle = pos * freq[None, :]
        cos, sin = torch.cos(angle)[:, None, :], torch.sin(angle)[:, None, :]
        v = x.reshape(n, n_heads, head_dim // 2, 2)
        even, odd = v[..., 0], v[..., 1]
        return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).reshape(n, n_heads * head_dim)

    total = torch.zeros((), dtype=torch.float64)
    count = 0
    for example in data["examples"]:
        tokens = torch.tensor(example["tokens"], dtype=torch.long)
        targets = torch.tensor(example["targets"], dtype=torch.long)
        n = tokens.shape[0]
        x = embedding[tokens]
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        for l, w in enumerate(layers):
            h = rms_norm(x, w["attention_norm"])
            q = rope(project(l, "Query", h), heads).reshape(n, heads, head_dim).transpose(0, 1)
            k = rope(project(l, "Key", h), kv_heads).reshape(n, kv_heads, head_dim).transpose(0, 1)
            v = project(l, "Value", h).reshape(n, kv_heads, head_dim).transpose(0, 1)
            group = heads // kv_heads
            k = k.repeat_interleave(group, dim=0)
            v = v.repeat_interleave(group, dim=0)
            scores = (q @ k.transpose(1, 2)) / (head_dim ** 0.5)
            scores = scores.masked_fill(mask, float("-inf"))
            attention = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(n, heads * head_dim)
            x = x + project(l, "Output", attention)
            h = rms_norm(x, w["ffn_norm"])
            gate = project(l, "Gate", h)
            x = x + project(l, "Down", torch.nn.functional.silu(gate) * project(l, "Up", h))
        logits = rms_norm(x, output_norm) @ classifier.T
        keep = targets >= 0
        total = total + torch.nn.functional.cross_entropy(logits[keep], targets[keep], reduction="sum")
        count += int(keep.sum())

    loss = total / count
    loss.backward()
    print(json.dumps({"loss": loss.item(), "slots": [{"a": a.grad.reshape(-1).tolist(), "b": b.grad.reshape(-1).tolist()} for a, b in slots]}))


if __name__ == "__main__":
    main(sys.argv[1])
