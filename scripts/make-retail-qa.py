#!/usr/bin/env python3
"""Generates the retailer question-answer set for LoRA tuning from the demo knowledge base.

Every answer is built from one record of demo/retail/*.jsonl (products, FAQs, policies,
promotions), so each pair is grounded in the data the retrieval demo serves; nothing is invented.
Output: JSON Lines of chat examples {"messages": [{"role": "user", ...}, {"role": "assistant", ...}],
"source": record id}, deterministic (no randomness), split into a training and a held-out file:
each fact is asked three ways and the third wording is held out, so held-out loss measures
answers to new wordings of known facts (921 pairs: 614 train, 307 held out).

Usage: scripts/make-retail-qa.py [--data demo/retail] [--out artifacts/retail-qa]
"""
import argparse
import json
import os
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def money(value):
    return f"${value:,.2f}"


def product_pairs(p):
    name, sku, price = p["name"], p["sku"], money(p["price"])
    stock = f"Yes, the {name} is in stock ({p['stock']} left)." if p["in_stock"] else f"No, the {name} is out of stock right now."
    description = p["text"].split(": ", 1)[1].split(". Price")[0] if ": " in p["text"] else p["text"]
    return [
        [(f"How much is the {name}?", f"The {name} costs {price}."),
         (f"What does the {name} cost?", f"The {name} costs {price}."),
         (f"What is the price of {sku}?", f"{sku} is the {name}; it costs {price}.")],
        [(f"Is the {name} in stock?", stock),
         (f"Can I buy the {name} today?", stock),
         (f"Do you have {sku} available?", stock)],
        [(f"What is the SKU of the {name}?", f"The {name} has SKU {sku}."),
         (f"Which product is {sku}?", f"{sku} is the {name}."),
         (f"What is the item number for the {name}?", f"The {name} has SKU {sku}.")],
        [(f"Tell me about the {name}.", f"The {name} is a {description}."),
         (f"What is the {name}?", f"The {name} is a {description}."),
         (f"Describe {sku}.", f"{sku}, the {name}, is a {description}.")],
        [(f"What category is the {name} in?", f"The {name} is in {p['category']}."),
         (f"Where do I find the {name} in the store?", f"Look under {p['category']}: the {name} is there."),
         (f"Which department sells {sku}?", f"{sku} is sold in {p['category']}.")],
    ]


def faq_pairs(f):
    answer = f["text"].split(" A: ", 1)[1] if " A: " in f["text"] else f["text"]
    q = f["question"]
    return [[(q, answer), (f"Question: {q}", answer), (f"Can you tell me: {q[0].lower() + q[1:]}", answer)]]


def document_pairs(d):
    title, text = d["title"], d["text"]
    topic = title[0].lower() + title[1:]
    return [[(f"What is your {topic}?", text), (f"Tell me about the {topic}.", text), (f"Explain the {topic}, please.", text)]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="demo/retail")
    parser.add_argument("--out", default="artifacts/retail-qa")
    args = parser.parse_args()

    groups = []
    for p in load(os.path.join(args.data, "products.jsonl")):
        groups += [(p["id"], g) for g in product_pairs(p)]
    for f in load(os.path.join(args.data, "faqs.jsonl")):
        groups += [(f["id"], g) for g in faq_pairs(f)]
    for name in ("policies.jsonl", "promotions.jsonl"):
        for d in load(os.path.join(args.data, name)):
            groups += [(d["id"], g) for g in document_pairs(d)]

    os.makedirs(args.out, exist_ok=True)
    counts = {"train": 0, "heldout": 0}
    with open(os.path.join(args.out, "train.jsonl"), "w", encoding="utf-8") as train, \
         open(os.path.join(args.out, "heldout.jsonl"), "w", encoding="utf-8") as heldout:
        for source, variants in groups:
            for i, (question, answer) in enumerate(variants):
                split = "heldout" if i == len(variants) - 1 else "train"
                example = {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}], "source": source}
                (heldout if split == "heldout" else train).write(json.dumps(example, ensure_ascii=False) + "\n")
                counts[split] += 1

    total = counts["train"] + counts["heldout"]
    print(f"{total} pairs from {len(groups)} facts: {counts['train']} train, {counts['heldout']} held out -> {args.out}", file=sys.stderr)
    if total < 500:
        sys.exit(f"only {total} pairs; the tuning demo needs at least 500")


if __name__ == "__main__":
    main()
