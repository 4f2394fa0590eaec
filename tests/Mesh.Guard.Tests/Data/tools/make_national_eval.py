"""Writes national-eval.jsonl: Presidio's national-identifier, crypto, MAC, URL and date entities.

For each entity, positives are values with valid check digits computed here (independently of the
C# code, from each issuer's published rule) inside sentences with the context word a reader would
see ("routing number", "NHS number", "TFN" ...); negatives are near misses: the same shapes with a
wrong check digit, a value of the right shape in a sentence that names it as something else (an
order or ticket number), or an impossible date. The generator was written before the recognizers
were run on it and was not edited to suit them. Held-out half: even ids.
Run: python3 make_national_eval.py > ../national-eval.jsonl
"""
import hashlib, json, random

rng = random.Random(20261130)
out = []
DIG = "0123456789"
UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

def d(n): return "".join(rng.choice(DIG) for _ in range(n))

def add(kind, template, etype, value):
    pre = template.split("{}")[0]
    text = template.replace("{}", value)
    ents = [{"type": etype, "start": len(pre), "end": len(pre) + len(value)}] if etype else []
    out.append({"kind": kind, "text": text, "entities": ents})

def bump(s, i):  # change the character at i (a digit) so a check fails
    c = s[i]
    return s[:i] + str((int(c) + rng.randint(1, 9)) % 10) + s[i + 1:]

# ---- checksums, from the issuers' rules
def aba_ok(s): return (3 * (int(s[0]) + int(s[3]) + int(s[6])) + 7 * (int(s[1]) + int(s[4]) + int(s[7])) + int(s[2]) + int(s[5]) + int(s[8])) % 10 == 0
def aba():
    while True:
        s = rng.choice(["01", "02", "03", "04", "05", "06", "07", "08", "09", "11", "12", "21", "22", "26", "31", "32"]) + d(7)
        if aba_ok(s): return s
def nhs():
    while True:
        s = d(9); c = 11 - sum(int(s[i]) * (10 - i) for i in range(9)) % 11
        if c == 10: continue
        return s + str(0 if c == 11 else c)
def nhs_ok(s):
    c = 11 - sum(int(s[i]) * (10 - i) for i in range(9)) % 11
    return c != 10 and (0 if c == 11 else c) == int(s[9])
VD = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]]
VP = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],[9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]]
VINV = [0,4,3,2,1,5,6,7,8,9]
def verhoeff_ok(s):
    c = 0
    for i, ch in enumerate(reversed(s)): c = VD[c][VP[i % 8][int(ch)]]
    return c == 0
def aadhaar():
    body = rng.choice("23456789") + d(10)
    c = 0
    for i, ch in enumerate(reversed(body)): c = VD[c][VP[(i + 1) % 8][int(ch)]]
    return body + str(VINV[c])
def weighted(s, w, mod, off=0): return sum((int(s[i]) + (off if i == 0 else 0)) * w[i] for i in range(len(w))) % mod == 0
def tfn():
    while True:
        s = d(9)
        if weighted(s, [1,4,3,7,5,8,6,9,10], 11): return s
def abn():
    while True:
        s = rng.choice("123456789") + d(10)
        if weighted(s, [10,1,3,5,7,9,11,13,15,17,19], 89, -1): return s
def acn_ok(s): return (10 - sum(int(s[i]) * (8 - i) for i in range(8)) % 10) % 10 == int(s[8])
def acn():
    b = d(8); return b + str((10 - sum(int(b[i]) * (8 - i) for i in range(8)) % 10) % 10)
def medicare_ok(s): return sum(int(s[i]) * w for i, w in enumerate([1,3,7,9,1,3,7,9])) % 10 == int(s[8])
def medicare():
    b = rng.choice("23456") + d(7); return b + str(sum(int(b[i]) * w for i, w in enumerate([1,3,7,9,1,3,7,9])) % 10) + rng.choice("123456789")
def nric():
    p = rng.choice("STFG"); b = d(7)
    s = sum(int(b[i]) * w for i, w in enumerate([2,7,6,5,4,3,2])) + (4 if p in "TG" else 0)
    return p + b + ("JZIHGFEDCBA" if p in "ST" else "XWUTRQPNMLK")[s % 11]
def nif():
    if rng.random() < 0.3:
        p = rng.choice("XYZ"); b = d(7); n = int(str("XYZ".index(p)) + b)
        return p + b + "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23]
    b = d(8); return b + "TRWAGMYFPDXBNJZSQVHLCKE"[int(b) % 23]
ODD = [1,0,5,7,9,13,15,17,19,21,2,4,18,20,11,3,6,8,12,14,16,10,22,25,24,23]
def cf_check(s):
    t = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else ord(c) - 65
        t += ODD[v] if i % 2 == 0 else v
    return chr(65 + t % 26)
def fiscal():
    b = "".join(rng.choice(UP) for _ in range(6)) + d(2) + rng.choice("ABCDEHLMPRST") + f"{rng.randint(1, 71):02d}" + rng.choice(UP) + d(3)
    return b + cf_check(b)
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def b58check(version):
    payload = bytes([version]) + bytes(rng.randrange(256) for _ in range(20))
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big"); s = ""
    while n: n, r = divmod(n, 58); s = B58[r] + s
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + s
CH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
def polymod(values):
    g = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]; chk = 1
    for v in values:
        b = chk >> 25; chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5): chk ^= g[i] if (b >> i) & 1 else 0
    return chk
def bech32(version, nbytes):
    prog = [rng.randrange(256) for _ in range(nbytes)]
    acc = bits = 0; data = [version]
    for b in prog:
        acc = acc << 8 | b; bits += 8
        while bits >= 5: bits -= 5; data.append(acc >> bits & 31)
    if bits: data.append(acc << (5 - bits) & 31)
    hrp = "bc"; const = 1 if version == 0 else 0x2bc830a3
    values = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp] + data
    pm = polymod(values + [0] * 6) ^ const
    return hrp + "1" + "".join(CH[v] for v in data + [pm >> 5 * (5 - i) & 31 for i in range(6)])
def break_b58(s):
    i = rng.randrange(5, len(s) - 1); c = s[i]
    return s[:i] + rng.choice([x for x in B58 if x != c]) + s[i + 1:]
def break_bech(s):
    i = rng.randrange(5, len(s) - 1); c = s[i]
    return s[:i] + rng.choice([x for x in CH if x != c]) + s[i + 1:]

def g(s, sizes, sep=" "):
    parts, i = [], 0
    for n in sizes: parts.append(s[i:i + n]); i += n
    return sep.join(parts)

def bad(gen, ok, fmt=lambda s: s):
    while True:
        s = bump(gen(), rng.randrange(0, 9))
        if not ok(s): return fmt(s)

N = 22
for _ in range(N):
    add("ABA_ROUTING_NUMBER", rng.choice(["Our routing number is {}.", "ABA {} for wires.", "Use routing {} and account 0042."]), "ABA_ROUTING_NUMBER", aba())
    add("neg-ABA_ROUTING_NUMBER", rng.choice(["Routing number: {} (please check).", "ABA {} for wires."]), None, bad(aba, aba_ok))
    add("US_BANK_NUMBER", rng.choice(["Bank account {} at First National.", "Acct no. {}", "My checking account number is {}."]), "US_BANK_NUMBER", d(rng.randint(8, 14)))
    add("neg-US_BANK_NUMBER", rng.choice(["Order {} shipped today.", "Tracking code {} is on the label."]), None, d(rng.randint(8, 14)))
    add("US_PASSPORT", rng.choice(["Passport number {}.", "My US passport: {}", "passport no {} expires next year"]), "US_PASSPORT", rng.choice([d(9), rng.choice(UP) + d(8)]))
    add("neg-US_PASSPORT", rng.choice(["Invoice {} is overdue.", "Case {} was closed."]), None, d(9))
    add("US_DRIVER_LICENSE", rng.choice(["Driver's license {}.", "Driving licence no. {}", "DL# {}"]), "US_DRIVER_LICENSE", rng.choice([rng.choice(UP) + d(7), d(8), rng.choice(UP) + d(12)]))
    add("neg-US_DRIVER_LICENSE", rng.choice(["Part {} is in aisle 4.", "Build {} passed."]), None, rng.choice([rng.choice(UP) + d(7), d(8)]))
    itin = "9" + d(2) + str(rng.choice([50, 55, 65, 70, 78, 88, 90, 92, 94, 99])) + d(4)
    add("US_ITIN", rng.choice(["ITIN {}.", "Taxpayer ID: {}", "Her ITIN is {}."]), "US_ITIN", rng.choice([g(itin, [3, 2, 4], "-"), g(itin, [3, 2, 4], " "), itin]))
    add("neg-US_ITIN", rng.choice(["ITIN {} (typo?)", "Reference {} was refunded."]), None, g("9" + d(2) + str(rng.choice([10, 20, 30, 40, 89, 93])) + d(4), [3, 2, 4], "-"))
    add("UK_NHS", rng.choice(["NHS number {}.", "Patient NHS no: {}", "My NHS number is {}"]), "UK_NHS", rng.choice([g(nhs(), [3, 3, 4]), nhs(), g(nhs(), [3, 3, 4], "-")]))
    add("neg-UK_NHS", rng.choice(["NHS number {} (as typed).", "Patient ref {}"]), None, bad(nhs, nhs_ok, lambda s: g(s, [3, 3, 4])))
    nino = rng.choice("ABCEGHJKLMNPRSTWXYZ") + rng.choice("ABCEGHJKLMNPRSTWXYZ") + d(6) + rng.choice("ABCD")
    while nino[:2] in ("GB", "NK", "TN", "ZZ"): nino = "AB" + nino[2:]
    add("UK_NINO", rng.choice(["National Insurance number {}.", "NI number: {}", "NINO {}"]), "UK_NINO", rng.choice([nino, g(nino, [2, 2, 2, 2, 1])]))
    add("neg-UK_NINO", rng.choice(["Product code {} in stock.", "Flight {} delayed."]), None, rng.choice(["GB", "QQ", "DO", "FY"]) + d(6) + rng.choice("ABCD"))
    pan = "".join(rng.choice(UP) for _ in range(3)) + rng.choice("PCHFAT") + rng.choice(UP) + d(4) + rng.choice(UP)
    add("IN_PAN", rng.choice(["PAN {}.", "My PAN card number is {}", "PAN: {}"]), "IN_PAN", pan)
    add("neg-IN_PAN", rng.choice(["Coupon {} expired.", "Ref {}"]), None, "".join(rng.choice(UP) for _ in range(3)) + rng.choice("DEIKMNOQRSUVWXYZ") + rng.choice(UP) + d(4) + rng.choice(UP))
    add("IN_AADHAAR", rng.choice(["Aadhaar {}.", "My Aadhaar number: {}", "UID {}"]), "IN_AADHAAR", rng.choice([g(aadhaar(), [4, 4, 4]), aadhaar()]))
    add("neg-IN_AADHAAR", rng.choice(["Aadhaar {} (wrong?)", "Account {} closed."]), None, bad(aadhaar, verhoeff_ok, lambda s: g(s, [4, 4, 4])))
    add("AU_TFN", rng.choice(["TFN {}.", "My tax file number is {}", "Tax file no: {}"]), "AU_TFN", rng.choice([g(tfn(), [3, 3, 3]), tfn()]))
    add("neg-AU_TFN", rng.choice(["TFN {} (check it)", "Tax file number {}"]), None, bad(tfn, lambda s: weighted(s, [1,4,3,7,5,8,6,9,10], 11), lambda s: g(s, [3, 3, 3])))
    add("AU_ABN", rng.choice(["ABN {}.", "Our ABN: {}", "Supplier ABN is {}"]), "AU_ABN", g(abn(), [2, 3, 3, 3]))
    add("neg-AU_ABN", rng.choice(["ABN {} (as printed)", "Ticket {} reopened."]), None, bad(abn, lambda s: weighted(s, [10,1,3,5,7,9,11,13,15,17,19], 89, -1), lambda s: g(s, [2, 3, 3, 3])))
    add("AU_ACN", rng.choice(["ACN {}.", "Australian Company Number {}", "company number (ACN) {}"]), "AU_ACN", g(acn(), [3, 3, 3]))
    add("neg-AU_ACN", rng.choice(["ACN {} (as typed)", "Serial {} registered."]), None, bad(acn, acn_ok, lambda s: g(s, [3, 3, 3])))
    add("AU_MEDICARE", rng.choice(["Medicare card {}.", "Medicare number: {}", "medicare no {}"]), "AU_MEDICARE", g(medicare(), [4, 5, 1, 1]))
    add("neg-AU_MEDICARE", rng.choice(["Medicare {} (typo)", "Parcel {} delivered."]), None, bad(lambda: medicare()[:10], medicare_ok, lambda s: g(s, [4, 5, 1])))
    add("SG_NRIC_FIN", rng.choice(["NRIC {}.", "My FIN is {}", "IC number: {}"]), "SG_NRIC_FIN", nric())
    n = nric(); add("neg-SG_NRIC_FIN", rng.choice(["NRIC {} (rejected)", "Code {}"]), None, n[:-1] + rng.choice([c for c in UP if c != n[-1]]))
    add("ES_NIF", rng.choice(["DNI {}.", "Mi NIF es {}", "NIE: {}"]), "ES_NIF", nif())
    f = nif(); add("neg-ES_NIF", rng.choice(["DNI {} (erróneo)", "Ref {}"]), None, f[:-1] + rng.choice([c for c in "TRWAGMYFPDXBNJZSQVHLCKE" if c != f[-1]]))
    add("IT_FISCAL_CODE", rng.choice(["Codice fiscale {}.", "CF: {}", "Il mio codice fiscale è {}"]), "IT_FISCAL_CODE", fiscal())
    c = fiscal(); add("neg-IT_FISCAL_CODE", rng.choice(["Codice {} (errato)", "Voucher {}"]), None, c[:-1] + rng.choice([x for x in UP if x != c[-1]]))
    addr = rng.choice([b58check(0), b58check(5), bech32(0, 20), bech32(0, 32), bech32(1, 32)])
    add("CRYPTO", rng.choice(["Send BTC to {}.", "Wallet: {}", "My bitcoin address is {}"]), "CRYPTO", addr)
    addr = rng.choice([break_b58(b58check(0)), break_b58(b58check(5)), break_bech(bech32(0, 20)), break_bech(bech32(1, 32))])
    add("neg-CRYPTO", rng.choice(["Send BTC to {} (mistyped).", "Wallet: {}"]), None, addr)
    mac = [rng.randrange(256) for _ in range(6)]
    add("MAC_ADDRESS", rng.choice(["MAC {}.", "The device's MAC address is {}", "hwaddr {}"]), "MAC_ADDRESS",
        rng.choice([":".join(f"{b:02x}" for b in mac), "-".join(f"{b:02X}" for b in mac), ".".join(f"{mac[i]:02x}{mac[i + 1]:02x}" for i in (0, 2, 4))]))
    add("neg-MAC_ADDRESS", rng.choice(["Timestamp {} logged.", "Ratio {} observed."]), None,
        rng.choice([":".join(f"{rng.randrange(60):02d}" for _ in range(3)), ":".join(f"{b:02x}" for b in mac[:5]), "-".join(f"{b:02x}" for b in mac[:4])]))
    host = rng.choice(["example.com", "shop.example.co.uk", "docs.mesh.dev", "www.wikipedia.org", "api.github.com"])
    url = rng.choice([f"https://{host}/", f"http://{host}/path/{d(3)}?q=a&b={d(2)}", f"https://{host}:8443/a/b#frag", f"www.{host.split('.', 1)[-1]}/page"])
    add("URL", rng.choice(["See {} for details.", "Docs: {}", "Open {}, then log in."]), "URL", url)
    add("neg-URL", rng.choice(["Edit config.{} first.", "Write to {} for help.", "Version {} is out."]), None,
        rng.choice(["yaml", "json", "user@example.com", f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}", "file.tar.gz"]))
    y, m, dd = rng.randint(1950, 2030), rng.randint(1, 12), rng.randint(1, 28)
    mon = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"][m - 1]
    date = rng.choice([f"{y}-{m:02d}-{dd:02d}", f"{dd:02d}/{m:02d}/{y}", f"{dd}.{m}.{y}", f"{dd} {mon} {y}", f"{mon} {dd}, {y}", f"{y}-{m:02d}-{dd:02d} 14:{d(1)}{d(1)}"])
    add("DATE_TIME", rng.choice(["Born on {}.", "The appointment is {}.", "Expires {}"]), "DATE_TIME", date)
    add("neg-DATE_TIME", rng.choice(["Version {} released.", "Score {} recorded.", "Ratio {}"]), None,
        rng.choice([f"{y}-13-{dd:02d}", f"31/02/{y}", f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}", f"{dd}/{m}", f"30 February {y}"]))

rng.shuffle(out)  # so that both halves hold positives and negatives of every entity
for i, o in enumerate(out, 1):
    print(json.dumps({"id": i, **o}, ensure_ascii=False))
