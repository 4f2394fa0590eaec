#!/usr/bin/env python3
"""Times PyTorch on the shapes the GPU check timed our kernels on, and writes the comparison.

Usage: torch_baseline.py REPORT.json OUTPUT.md

Reads the JSON written by Mesh.GpuCheck, times each result's baseline (cuBLAS matmul/gemv through
torch.matmul, scaled_dot_product_attention, a device copy for bandwidth, top-k sampling) with CUDA
events (median of 30 after 5 warm-ups, weights rotated past L2 where ours were), prints one table
(kernel, shape, ours ms, PyTorch ms, ratio, GB/s or TFLOP/s), and writes it with the correctness
table and decode throughput to OUTPUT.md, with PyTorch eager greedy decode of a random bf16 Llama of
the 1B shape at batch 1 and 64. Without PyTorch (or without CUDA in it) every PyTorch column says
"skipped" with the reason, and our own numbers are written all the same.
"""
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    TORCH_SKIPPED = None if torch.cuda.is_available() else "torch.cuda.is_available() is False"
except ImportError as error:
    TORCH_SKIPPED = f"PyTorch is not installed ({error})"

WARMUP, REPEATS = 5, 30


def median_ms(fn):
    start = [torch.cuda.Event(enable_timing=True) for _ in range(REPEATS)]
    end = [torch.cuda.Event(enable_timing=True) for _ in range(REPEATS)]
    for i in range(WARMUP):
        fn(i)
    torch.cuda.synchronize()
    times = []
    for i in range(REPEATS):
        start[i].record()
        fn(i)
        end[i].record()
        end[i].synchronize()
        times.append(start[i].elapsed_time(end[i]))
    return statistics.median(times)


def rand(*shape, dtype=None):
    return (torch.rand(*shape, device="cuda", dtype=torch.float32) * 2 - 1).to(dtype or torch.bfloat16)


def baseline(kind, dims):
    if TORCH_SKIPPED:
        return None, f"skipped: {TORCH_SKIPPED}"
    if kind == "copy":
        n = dims[0] << 20
        a = torch.empty(n, dtype=torch.uint8, device="cuda").fill_(1)
        b = torch.empty_like(a)
        return median_ms(lambda i: b.copy_(a)), "torch copy_"
    if kind == "matmul_bf16":
        m, n, k = dims
        a, b = rand(m, k), rand(n, k)
        return median_ms(lambda i: torch.matmul(a, b.t())), "torch.matmul bf16 (cuBLAS)"
    if kind == "matvec_bf16":
        n, k = dims
        copies = max(2, min(8, (512 << 20) // (n * k * 2)))
        ws = [rand(n, k) for _ in range(copies)]
        x = rand(1, k)
        return median_ms(lambda i: torch.matmul(x, ws[i % copies].t())), "torch.matmul 1xK bf16 (cuBLAS gemv)"
    if kind == "decode_attention":
        seqs, ctx, heads, kv, hd = dims
        q = rand(seqs, heads, 1, hd, dtype=torch.float32)
        k = rand(seqs, kv, ctx, hd, dtype=torch.float32)
        v = rand(seqs, kv, ctx, hd, dtype=torch.float32)
        return median_ms(lambda i: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)), "SDPA f32, GQA, 1 query"
    if kind == "sdpa_causal":
        tokens, heads, kv, hd = dims
        q = rand(1, heads, tokens, hd)
        k = rand(1, kv, tokens, hd)
        v = rand(1, kv, tokens, hd)
        return median_ms(lambda i: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)), "SDPA bf16 causal (flash)"
    if kind == "sampling":
        rows, vocab = dims
        logits = rand(rows, vocab, dtype=torch.float32) * 8

        def sample(i):
            top, idx = torch.topk(logits / 0.8, 40, dim=-1)
            probs = torch.softmax(top, dim=-1)
            return idx.gather(-1, torch.multinomial(probs, 1))

        return median_ms(sample), "torch topk(40)+softmax+multinomial"
    return None, "none"


def torch_decode(steps, batch):
    """Greedy decode tokens/s (all rows together) of a random bf16 Llama with the GPU check's 1B
    shape (dim 2048, FFN 8192, 16 layers, 32/8 heads, vocab 32000) in PyTorch eager, KV cache
    preallocated, SDPA over the cached positions."""
    dim, hidden, layers, heads, kv_heads, vocab = 2048, 8192, 16, 32, 8, 32000
    hd = dim // heads
    gen = torch.Generator(device="cuda").manual_seed(0)

    def w(rows, cols):
        return ((torch.rand(rows, cols, device="cuda", generator=gen) * 2 - 1) * cols ** -0.5).to(torch.bfloat16)

    emb, out = w(vocab, dim), w(vocab, dim)
    blocks = [{n: w(*shape) for n, shape in (("q", (dim, dim)), ("k", (kv_heads * hd, dim)), ("v", (kv_heads * hd, dim)),
                                             ("o", (dim, dim)), ("g", (hidden, dim)), ("u", (hidden, dim)), ("d", (dim, hidden)))}
              for _ in range(layers)]
    ctx = steps + 4
    kc = [torch.zeros(batch, kv_heads, ctx, hd, device="cuda", dtype=torch.bfloat16) for _ in range(layers)]
    vc = [torch.zeros_like(k) for k in kc]
    inv = 1.0 / (500000.0 ** (torch.arange(0, hd, 2, device="cuda").float() / hd))

    def rms(x):
        return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5).to(x.dtype)

    def rope(x, pos):
        angle = pos * inv
        cos, sin = angle.cos(), angle.sin()
        x1, x2 = x[..., 0::2].float(), x[..., 1::2].float()
        return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), -1).flatten(-2).to(x.dtype)

    def step(tok, pos):
        x = emb[tok]
        for b, k_cache, v_cache in zip(blocks, kc, vc):
            h = rms(x)
            q = rope((h @ b["q"].t()).view(batch, heads, 1, hd), pos)
            k_cache[:, :, pos:pos + 1] = rope((h @ b["k"].t()).view(batch, kv_heads, 1, hd), pos)
            v_cache[:, :, pos:pos + 1] = (h @ b["v"].t()).view(batch, kv_heads, 1, hd)
            a = F.scaled_dot_product_attention(q, k_cache[:, :, :pos + 1], v_cache[:, :, :pos + 1], enable_gqa=True)
            x = x + a.reshape(batch, dim) @ b["o"].t()
            h = rms(x)
            x = x + (F.silu(h @ b["g"].t()) * (h @ b["u"].t())) @ b["d"].t()
        return (rms(x) @ out.t()).argmax(-1)

    with torch.no_grad():
        tok = torch.ones(batch, dtype=torch.long, device="cuda")
        for pos in range(2):
            tok = step(tok, pos)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for pos in range(2, steps + 2):
            tok = step(tok, pos)
        torch.cuda.synchronize()
        return steps * batch / (time.perf_counter() - start)


def torch_decode_rows():
    if TORCH_SKIPPED:
        return [("pytorch eager", "random 1B bf16", 0, f"skipped: {TORCH_SKIPPED}")]
    rows = []
    for batch in (1, 64):
        try:
            rows.append((f"pytorch eager bf16, batch {batch}", "random 1B bf16 (dim 2048, 16 layers, vocab 32000)", 64, f"{torch_decode(64, batch):.1f}"))
        except Exception as error:  # report, never lose the rest of the report
            rows.append((f"pytorch eager bf16, batch {batch}", "random 1B bf16", 0, f"failed: {error}"))
    return rows


def main():
    report_path, out_path = sys.argv[1], sys.argv[2]
    with open(report_path) as f:
        report = json.load(f)
    rows = []
    copy_gbs = None
    for t in report["timings"]:
        torch_ms, what = baseline(t["baseline"], t["dims"])
        ours = t["milliseconds"]
        gbs = t["bytes"] / (ours * 1e6) if t["bytes"] else None
        tflops = t["flops"] / (ours * 1e9) if t["flops"] else None
        if t["baseline"] == "copy":
            copy_gbs = t["bytes"] / (torch_ms * 1e6)
        rows.append((t["kernel"], t["shape"], ours, torch_ms, what, gbs, tflops))

    lines = [f"# GPU check, {report['date']}", "", f"Device: {report['device']}. Command: `scripts/gpu-check.sh run`.", ""]
    if TORCH_SKIPPED:
        lines += [f"PyTorch baselines skipped: {TORCH_SKIPPED}.", ""]
    lines += ["## Correctness (fresh random inputs, outputs NaN-poisoned)", "",
              "| kernel | shape | rel. error | limit | result | note |", "|---|---|---|---|---|---|"]
    for c in report["correctness"]:
        lines.append(f"| {c['kernel']} | {c['shape']} | {c['relative_error']:.2e} | {c['threshold']:.0e} | {'pass' if c['passed'] else 'FAIL'} | {c['note']} |")
    lines += ["", "## Kernels against PyTorch on the same machine (median of 30)", "",
              "| kernel | shape | ours (ms) | PyTorch (ms) | ours vs PyTorch | GB/s | % of copy bandwidth | TFLOP/s | PyTorch op |",
              "|---|---|---|---|---|---|---|---|---|"]
    def fmt(value, spec):
        return format(value, spec) if value is not None else "—"

    for kernel, shape, ours, torch_ms, what, gbs, tflops in rows:
        ratio = f"{torch_ms / ours:.2f}x" if torch_ms else "—"
        bw = f"{100 * gbs / copy_gbs:.0f}%" if gbs and copy_gbs else "—"
        lines.append(f"| {kernel} | {shape} | {ours:.4f} | {fmt(torch_ms, '.4f')} | {ratio} | {fmt(gbs, '.0f')} | {bw} | {fmt(tflops, '.1f')} | {what} |")
    lines += ["", "ratio = PyTorch time / our time (1.00x = as fast as PyTorch). Bandwidth counts bytes read plus written once.", ""]
    lines += ["## End-to-end greedy decode", "", "| backend | model | steps | tokens/s | note |", "|---|---|---|---|---|"]
    for d in report["decode"]:
        lines.append(f"| {d['backend']} | {d['model']} | {d['steps']} | {d['tokens_per_second']:.1f} | {d.get('note', '')} |")
    for backend, model, steps, tps in torch_decode_rows():
        lines.append(f"| {backend} | {model} | {steps} | {tps} | all rows together |")
    if report["failures"]:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in report["failures"]]
    text = "\n".join(lines) + "\n"
    with open(out_path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
