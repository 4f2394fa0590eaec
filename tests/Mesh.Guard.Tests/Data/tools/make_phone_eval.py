"""Writes phone-eval.jsonl: phone numbers of the default regions and look-alikes.

Positives: numbers of US, GB, DE, FR, IN, CA, AU, BR, IL in national and international formats, from
each region's numbering plan (area codes and mobile prefixes in use; subscriber digits random),
inside sentences. An ungrouped run of digits, or a short local number (under nine significant
digits), is only labelled inside a sentence that names it as a phone number, since that is how
a human reader tells it from an order number too. Negatives: versions, order numbers, SKUs, dates,
prices, ISBNs, ZIP+4 codes, coordinates and other digit runs that are not phone numbers.
The generator was written before the recognizer was run on it and was not edited to suit it.
Held-out half: even ids. Run: python3 make_phone_eval.py > ../phone-eval.jsonl
"""
import json, random

rng = random.Random(20261130)
out = []

def d(n):
    return "".join(rng.choice("0123456789") for _ in range(n))

def nz(n):  # n digits, first in 2-9
    return rng.choice("23456789") + d(n - 1)

def nanp(areas):
    a = rng.choice(areas)
    ex = nz(3)
    while ex[1:] == "11" or ex == "555":
        ex = nz(3)
    sub = d(4)
    fmt = rng.randrange(7)
    if fmt == 0: return f"({a}) {ex}-{sub}", True
    if fmt == 1: return f"{a}-{ex}-{sub}", True
    if fmt == 2: return f"{a}.{ex}.{sub}", True
    if fmt == 3: return f"+1 {a} {ex} {sub}", True
    if fmt == 4: return f"+1-{a}-{ex}-{sub}", True
    if fmt == 5: return f"1-{a}-{ex}-{sub}", True
    return f"{a}{ex}{sub}", False  # bare: needs a phone word

def us(): return nanp(["212", "415", "312", "617", "206", "303", "512", "404", "305", "702", "646", "213"])
def ca(): return nanp(["416", "604", "514", "403", "613", "647", "905", "780"])

def gb():
    k = rng.randrange(8)
    if k == 0: return f"020 7{d(3)} {d(4)}", True
    if k == 1: return f"020 8{d(3)} {d(4)}", True
    if k == 2: return f"07{rng.choice('4589')}{d(2)} {d(6)}", True
    if k == 3: return f"0161 {nz(3)} {d(4)}", True
    if k == 4: return f"+44 20 7{d(3)} {d(4)}", True
    if k == 5: return f"+44 7{rng.choice('4589')}{d(2)} {d(6)}", True
    if k == 6: return f"+44 (0)121 {nz(3)} {d(4)}", True
    return f"0113 {nz(3)} {d(4)}", True

def de():
    k = rng.randrange(7)
    if k == 0: return f"030 {nz(8)}", True
    if k == 1: return f"030/{nz(8)}", True
    if k == 2: return f"089 {nz(7)}", True
    if k == 3: return f"015{rng.choice('12')} {d(8)}", True
    if k == 4: return f"017{rng.choice('0156')} {d(7)}", True
    if k == 5: return f"+49 30 {nz(8)}", True
    return f"+49 15{rng.choice('12')} {d(8)}", True

def fr():
    k = rng.randrange(6)
    pair = lambda: " ".join(d(2) for _ in range(4))
    if k == 0: return f"01 {pair()}", True
    if k == 1: return f"06 {pair()}", True
    if k == 2: return f"07 {rng.choice('5678')}{d(1)} {d(2)} {d(2)} {d(2)}", True
    if k == 3: return f"04.{d(2)}.{d(2)}.{d(2)}.{d(2)}", True
    if k == 4: return f"+33 1 {pair()}", True
    return f"+33 6 {pair()}", True

def india():
    k = rng.randrange(6)
    mob = rng.choice("9876") + d(4)
    if k == 0: return f"{mob} {d(5)}", True
    if k == 1: return f"+91 {mob} {d(5)}", True
    if k == 2: return f"+91-{mob}-{d(5)}", True
    if k == 3: return f"0{mob} {d(5)}", True
    if k == 4: return f"022 {rng.choice('2456')}{d(3)} {d(4)}", True
    return f"{mob}{d(5)}", False

def au():
    k = rng.randrange(6)
    if k == 0: return f"(02) {rng.choice('89')}{d(3)} {d(4)}", True
    if k == 1: return f"03 9{d(3)} {d(4)}", True
    if k == 2: return f"04{d(2)} {d(3)} {d(3)}", True
    if k == 3: return f"+61 2 {rng.choice('89')}{d(3)} {d(4)}", True
    if k == 4: return f"+61 4{d(2)} {d(3)} {d(3)}", True
    return f"(07) 3{d(3)} {d(4)}", True

def br():
    k = rng.randrange(5)
    ddd = rng.choice(["11", "21", "31", "41", "51", "61", "71", "81"])
    if k == 0: return f"({ddd}) 9{rng.choice('6789')}{d(3)}-{d(4)}", True
    if k == 1: return f"({ddd}) {rng.choice('2345')}{d(3)}-{d(4)}", True
    if k == 2: return f"+55 {ddd} 9{rng.choice('6789')}{d(3)} {d(4)}", True
    if k == 3: return f"+55 ({ddd}) {rng.choice('2345')}{d(3)}-{d(4)}", True
    return f"{ddd} 9{rng.choice('6789')}{d(3)}-{d(4)}", True

def il():
    k = rng.randrange(5)
    if k == 0: return f"05{rng.choice('02348')}-{d(3)}-{d(4)}", True
    if k == 1: return f"+972 5{rng.choice('02348')}-{d(3)}-{d(4)}", True
    if k == 2: return f"+972-{rng.choice('2348')}-{rng.choice('56789')}{d(2)}-{d(4)}", True
    if k == 3: return f"05{rng.choice('02348')} {d(3)} {d(4)}", True
    return f"0{rng.choice('2348')}-{rng.choice('56789')}{d(2)}-{d(4)}", False  # 8 significant digits: short

WITH_CONTEXT = [
    "Call me at {} after five.", "My phone number is {}.", "You can reach the front desk on {}.",
    "Tel: {}", "Please ring {} to book a table.", "Her mobile: {}", "For urgent issues, call {} any time.",
    "Fax {} for the signed copy.", "Text me on {} when you land.", "Contact number: {}",
    "WhatsApp: {}", "Dial {} and press 2 for billing.", "The hotline is {} (24/7).",
    "I tried calling {} twice but nobody answered.", "Cell {}, email below.",
]
WITHOUT_CONTEXT = [
    "Our Paris office: {}.", "Details: {} / Mon-Fri 9-17", "She wrote {} on the form.",
    "Reservations at {} are recommended.", "The clinic ({}) opens at 8.", "Write it down: {}",
    "Reception is on {} until six.", "{} is the number on the sticker.",
]

def add(kind, text, spans):
    out.append({"id": len(out) + 1, "kind": kind, "text": text,
                "entities": [{"type": "PHONE_NUMBER", "start": s, "end": e} for s, e in spans]})

def place(template, value):
    pre = template.split("{}")[0]
    return template.replace("{}", value), (len(pre), len(pre) + len(value))

regions = [("US", us), ("GB", gb), ("DE", de), ("FR", fr), ("IN", india), ("CA", ca), ("AU", au), ("BR", br), ("IL", il)]
positives = []
for name, gen in regions:
    for _ in range(25):
        value, strong = gen()
        pool = WITH_CONTEXT if not strong or rng.random() < 0.6 else WITHOUT_CONTEXT
        positives.append((f"positive-{name}", *place(rng.choice(pool), value)))

def version():
    k = rng.randrange(4)
    if k == 0: return f"Upgrade to v{rng.randint(1, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 99)} first."
    if k == 1: return f"Windows build 10.0.{rng.randint(10000, 26000)}.{rng.randint(1000, 4000)} is affected."
    if k == 2: return f"The firmware {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(100, 999)}.{rng.randint(1000, 9999)} fixes it."
    return f"Requires Python {rng.randint(2, 3)}.{rng.randint(0, 13)}.{rng.randint(0, 20)} or later."

def order():
    k = rng.randrange(5)
    if k == 0: return f"Order #{nz(10)} has shipped."
    if k == 1: return f"Your order number is {d(3)}-{d(7)}-{d(7)}."
    if k == 2: return f"Invoice INV-{rng.randint(2019, 2026)}-{d(6)} is attached."
    if k == 3: return f"Reference {nz(9)} was refunded."
    return f"Ticket {rng.randint(100000, 999999)} was closed; case {nz(8)} remains open."

def sku():
    k = rng.randrange(4)
    if k == 0: return f"SKU {rng.choice(['WH', 'TX', 'BK'])}-{d(4)}-{d(3)} is back in stock."
    if k == 1: return f"Replace part {d(2)}-{d(4)}-{d(2)} with the newer one."
    if k == 2: return f"Item {d(5)}-{d(2)} ships from the second warehouse."
    return f"Model {rng.choice(['X', 'QN', 'UE'])}{d(2)}{rng.choice(['A', 'B', 'Q'])}{d(4)} has a 2-year warranty."

def date():
    y, m, dd = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    k = rng.randrange(5)
    if k == 0: return f"The meeting is on {y}-{m:02d}-{dd:02d}."
    if k == 1: return f"Born {dd:02d}/{m:02d}/{y}."
    if k == 2: return f"Valid until {dd:02d}.{m:02d}.{y} 23:59."
    if k == 3: return f"Logged at {y}-{m:02d}-{dd:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
    return f"Between {m:02d}/{dd:02d}/{y} and {m:02d}/{min(dd + 3, 28):02d}/{y}."

def price():
    k = rng.randrange(5)
    if k == 0: return f"It costs ${rng.randint(1, 9)},{d(3)}.{d(2)}."
    if k == 1: return f"Total: {rng.randint(1, 99)}.{d(3)},{d(2)} EUR"
    if k == 2: return f"Budget of {rng.randint(1, 9)} {d(3)} {d(3)} rupees approved."
    if k == 3: return f"R$ {rng.randint(1, 99)}.{d(3)},{d(2)} was paid."
    return f"Revenue grew to ${rng.randint(1, 999)},{d(3)},{d(3)} last year."

def other():
    k = rng.randrange(6)
    if k == 0: return f"ISBN 978-{rng.randint(0, 1)}-{d(3)}-{d(5)}-{rng.randint(0, 9)}"
    if k == 1: return f"Ship to ZIP {d(5)}-{d(4)}."
    if k == 2: return f"Coordinates {rng.randint(10, 60)}.{d(4)}, -{rng.randint(10, 120)}.{d(4)}"
    if k == 3: return f"Resolution {rng.choice(['1920x1080', '2560x1440', '3840x2160'])} at {rng.randint(60, 240)} Hz."
    if k == 4: return f"The population was {rng.randint(1, 9)},{d(3)},{d(3)} in {rng.randint(1950, 2020)}."
    return f"Serial {rng.choice('ABCDEFG')}{d(11)} is registered."

negatives = []
for gen in [version, order, sku, date, price, other]:
    for _ in range(36):
        negatives.append(("lookalike-" + gen.__name__, gen()))

items = positives + [(k, t, None) for k, t in negatives]
rng.shuffle(items)
for kind, text, span in items:
    add(kind, text, [span] if span else [])
for o in out:
    print(json.dumps(o, ensure_ascii=False))
