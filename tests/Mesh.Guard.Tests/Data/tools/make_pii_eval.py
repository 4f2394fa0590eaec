"""Writes pii-eval.jsonl: the labelled PII evaluation set the Guard tests carry.

Every example is a sentence a person or a model could plausibly write, with the PII values it
contains labelled by type and code-point span. Values with checksums (cards, IBANs) are computed
here so that positives are real-format values and hard negatives fail exactly the check a human
would use. The templates were written before the detector was run on them and were not edited to
suit it; known misses (national phone formats, IDN e-mail, dotted card numbers) stay in.
Run: python3 make_pii_eval.py > ../pii-eval.jsonl
"""
import json, random

rng = random.Random(20261128)
out = []

def luhn_digit(body):
    s = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        s += d
    return str((10 - s % 10) % 10)

def card(prefix, length):
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)

def bad_luhn(num):
    last = int(num[-1])
    return num[:-1] + str((last + rng.randint(1, 9)) % 10)

def group(num, sizes, sep):
    parts, i = [], 0
    for s in sizes:
        parts.append(num[i:i + s]); i += s
    return sep.join(parts)

def iban(country, bban):
    rearranged = bban + country + "00"
    digits = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"

def spaced(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))

def add(kind, template, *values, note=""):
    """template uses {0}, {1}; values are (type, value) or plain strings (unlabelled)."""
    text = template
    ents = []
    for i, v in enumerate(values):
        t, val = v if isinstance(v, tuple) else (None, v)
        marker = "{" + str(i) + "}"
        pos = text.find(marker)
        if pos >= 0:
            text = text[:pos] + val + text[pos + len(marker):]
        else:
            pos = text.index(val)  # the template already spells the value out
        if t:
            ents.append((t, pos, val))
    # Positions shift when earlier markers expand: recompute by scanning in order.
    spans, cursor = [], 0
    for t, _, val in ents:
        p = text.index(val, cursor)
        spans.append({"type": t, "start": p, "end": p + len(val)})
        cursor = p + len(val)
    out.append({"id": len(out) + 1, "kind": kind, "text": text, "entities": spans, "note": note})

E, P, C, I, S, A = "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"

# ---------------- EMAIL_ADDRESS positives
emails = ["john.smith@example.com", "j_doe+newsletter@mail.co.uk", "ANNA.K@Company.DE", "support@my-shop.io",
          "first.last@sub.domain.example.org", "x@y.co", "maria.garcia1987@gmail.com", "billing-team@acme-corp.net",
          "o'brien@example.ie", "li.wei@university.edu.cn", "ceo@startup.ai", "noreply@notifications.service.com",
          "patient_4471@clinic-mail.org", "h.mueller@t-online.de", "用户@例子.广告"]
email_templates = ["Please contact {0} for details.", "My email is {0}", "Send the invoice to {0}, thanks!",
                   "Reach out ({0}) if anything breaks.", "CC: {0}", "<{0}> wrote on Monday:",
                   "You can write to {0}; I check it daily.", "Email:{0}"]
for i, e in enumerate(emails):
    add("positive", email_templates[i % len(email_templates)], (E, e),
        note="IDN address" if "例" in e else "")

# ---------------- PHONE_NUMBER positives
phones = ["+1 415 555 2671", "(212) 555-0198", "212-555-0198", "212.555.0198", "+44 20 7946 0958", "+49 30 901820",
          "+33 1 42 68 53 00", "+91 98765 43210", "+61 2 9374 4000", "1-800-555-0199", "+81-3-1234-5678",
          "+55 11 91234-5678", "+1-646-555-0143", "(617) 555 0112", "+353 1 234 5678", "+34 912 345 678",
          "020 7946 0958", "06 12 34 56 78", "555-0123"]
phone_templates = ["Call me at {0}.", "Phone: {0}", "You can reach our office on {0} during business hours.",
                   "My cell is {0}, text anytime", "Tel {0} / fax none", "Customer called from {0} to complain."]
for i, p in enumerate(phones):
    note = "national format without country code" if p in ("020 7946 0958", "06 12 34 56 78") else ("seven-digit local number" if p == "555-0123" else "")
    add("positive", phone_templates[i % len(phone_templates)], (P, p), note=note)
add("positive", "call me on 4155550123 tomorrow", (P, "4155550123"), note="bare ten digits after a phone word")

# ---------------- CREDIT_CARD positives
cards = [("4", 16, [4, 4, 4, 4], " "), ("4", 16, [4, 4, 4, 4], "-"), ("4", 16, [16], ""), ("51", 16, [4, 4, 4, 4], " "),
         ("55", 16, [16], ""), ("2221", 16, [4, 4, 4, 4], " "), ("2720", 16, [4, 4, 4, 4], "-"), ("34", 15, [4, 6, 5], " "),
         ("37", 15, [15], ""), ("6011", 16, [4, 4, 4, 4], " "), ("65", 16, [4, 4, 4, 4], "-"), ("3530", 16, [4, 4, 4, 4], " "),
         ("36", 14, [4, 6, 4], " "), ("4", 13, [13], ""), ("62", 16, [4, 4, 4, 4], " "), ("53", 16, [4, 4, 4, 4], " "),
         ("4", 16, [4, 4, 4, 4], " "), ("52", 16, [16], ""), ("4", 19, [4, 4, 4, 4, 3], " "), ("6011", 16, [16], ""),
         ("4", 16, [4, 4, 4, 4], ".")]
card_templates = ["My card number is {0}", "Charge it to {0} please.", "card: {0} exp 09/27", "Visa {0}",
                  "I paid with {0} but got no receipt", "Payment method ending ... full number {0}.",
                  "Use {0} for the subscription"]
for i, (pre, ln, sizes, sep) in enumerate(cards):
    num = card(pre, ln)
    add("positive", card_templates[i % len(card_templates)], (C, group(num, sizes, sep)),
        note="dot-separated groups" if sep == "." else "")

# ---------------- IBAN_CODE positives
ibans = [iban("DE", "370400440532013000"), iban("GB", "WEST12345698765432"), iban("FR", "20041010050500013M02606"),
         iban("NL", "ABNA0417164300"), iban("ES", "21000418450200051332"), iban("IT", "X0542811101000000123456"),
         iban("CH", "0076201162385295" + "7"), iban("BE", "539007547034"), iban("AT", "1904300234573201"),
         iban("PL", "109010140000071219812874"), iban("SE", "50000000058398257466"), iban("NO", "86011117947"),
         iban("IE", "AIBK93115212345678"), iban("PT", "000201231234567890154"), iban("DK", "00400440116243"),
         iban("FI", "12345600000785"), iban("CZ", "08000000192000145399"), iban("RO", "AAAA1B31007593840000")]
iban_templates = ["IBAN: {0}", "Please transfer the deposit to {0}.", "Bank account {0} (Sparkasse)",
                  "wire to {0} ref 2291", "My IBAN is {0}"]
for i, b in enumerate(ibans):
    value = spaced(b) if i % 2 == 0 else b
    add("positive", iban_templates[i % len(iban_templates)], (I, value))

# ---------------- US_SSN positives
ssns = ["536-22-1234", "078-05-1121", "219 09 9998", "401-58-7730", "123-44-6789", "772-31-0045", "001-01-0001",
        "665-99-9999", "345-67-8901", "510-23-4467", "233-81-5590", "457-55-5462"]
ssn_templates = ["SSN: {0}", "My social security number is {0}.", "Employee SSN {0} on file", "ssn={0}",
                 "Please verify {0} for the tax form."]
for i, s in enumerate(ssns):
    add("positive", ssn_templates[i % len(ssn_templates)], (S, s))
add("positive", "social security no. 536221235 attached", (S, "536221235"), note="nine bare digits after an SSN word")
add("positive", "SSN 402 11 3344 for the loan", (S, "402 11 3344"))

# ---------------- IP_ADDRESS positives
ips = ["192.168.1.10", "10.0.0.1", "8.8.8.8", "172.16.254.1", "203.0.113.45", "2001:db8::ff00:42:8329",
       "fe80::1ff:fe23:4567:890a", "::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "100.64.12.7", "198.51.100.23",
       "127.0.0.1", "2606:4700:4700::1111", "91.198.174.192", "1.1.1.1"]
ip_templates = ["Login attempt from {0} was blocked.", "ssh admin@host -p 22 # host is {0}", "Client IP: {0}",
                "The server at {0} is down", "Allowlist {0} in the firewall.", "nslookup returned {0}"]
for i, ip in enumerate(ips):
    add("positive", ip_templates[i % len(ip_templates)], (A, ip))
add("positive", "connect to 192.168.0.1:8080 for the admin page", (A, "192.168.0.1"), note="with port")
add("positive", "listening on [2001:db8::1]:443", (A, "2001:db8::1"), note="bracketed IPv6 with port")

# ---------------- mixed (several entities in one text)
c1 = group(card("4", 16), [4, 4, 4, 4], " ")
add("mixed", "Name: Tom Baker, email {0}, phone {1}, card {2}.", (E, "tom.baker@example.net"), (P, "(303) 555-0147"), (C, c1))
b1 = iban("DE", "500105175407324931")
add("mixed", "Refund to {0} and confirm to {1}", (I, spaced(b1)), (E, "refunds@shop.example"))
add("mixed", "User {0} logged in from {1} at 09:14:55.", (E, "kim@corp.example.com"), (A, "10.12.0.7"))
add("mixed", "SSN {0}; callback {1}", (S, "612-40-3381"), (P, "+1 202 555 0176"))
c2 = card("5", 16)
add("mixed", "Customer {0} paid with {1} from IP {2}", (E, "a.b@c-d.org"), (C, c2), (A, "203.0.113.9"))
add("mixed", "ops@example.com, +44 161 496 0000, 2001:db8:0:1::5", (E, "ops@example.com"), (P, "+44 161 496 0000"), (A, "2001:db8:0:1::5"))
b2 = iban("FR", "30006000011234567890189")
add("mixed", "Virement sur {0}, questions à {1}.", (I, b2), (E, "compta@entreprise.fr"))
add("mixed", "Contact: {0} | {1} | SSN {2}", (P, "415-555-0100"), (E, "jd@mail.example"), (S, "219-09-9997"))

# ---------------- hard negatives: look like PII, are not
for _ in range(8):
    num = bad_luhn(card(rng.choice(["4", "5", "6"]), 16))
    add("hard_negative", rng.choice(["Order number {0} has shipped.", "Your order #{0} is confirmed", "Reference: {0}",
                                     "Tracking ID {0}"]), group(num, [4, 4, 4, 4], rng.choice([" ", "-", ""])) if rng.random() < 0.5 else num,
        note="16 digits failing Luhn")
add("hard_negative", "IMEI {0} registered to the device", "490154203237518", note="Luhn-valid IMEI, not a card prefix")
add("hard_negative", "Timestamp 1699999999999 in milliseconds", note="13-digit epoch")
add("hard_negative", "Account 0001234567890128 belongs to the batch job", note="Luhn-valid, no card network prefix")
add("hard_negative", "Invoice 9876543210123456 is overdue", note="no card network prefix")
add("hard_negative", "Serial 1234 5678 9012 3456 is out of warranty", note="fails Luhn")
add("hard_negative", "UPS tracking 1Z999AA10123456784 arrives Friday")
add("hard_negative", "Call 2023-10-05 at 14:30 to review", note="date and time")
add("hard_negative", "See ISBN 978-0-306-40615-7 for the reference")
add("hard_negative", "Ship to ZIP 94105-1234 by Friday")
add("hard_negative", "Order 1234567890 was refunded", note="ten bare digits, no phone word")
add("hard_negative", "The final score was 102-98 after overtime")
add("hard_negative", "Read pages 123-456 before class")
add("hard_negative", "Coordinates 37.7749, -122.4194 are in San Francisco")
add("hard_negative", "Revenue grew to $1,234,567.89 this quarter")
add("hard_negative", "Part number 123-45-67890 is discontinued", note="SSN-like prefix with five-digit tail")
add("hard_negative", "Test SSN 000-12-3456 is invalid by rule", note="area 000 is never issued")
add("hard_negative", "Placeholder 666-12-3456 in the docs", note="area 666 is never issued")
add("hard_negative", "Number 900-12-3456 is an ITIN-range value", note="area 9xx is not an SSN")
add("hard_negative", "Form field 123-00-4567 failed validation", note="group 00 is never issued")
add("hard_negative", "Batch id 536221234 processed", note="nine bare digits, no SSN word")
add("hard_negative", "Upgrade to version 1.2.3.4 today", note="version string")
add("hard_negative", "Chrome 120.0.6099.109 fixed the bug", note="version with octet over 255")
add("hard_negative", "Released v2.10.4.1 with fixes", note="v-prefixed version")
add("hard_negative", "Windows build 10.0.19041.1 is required")
add("hard_negative", "The firmware 4.1.2.0 update bricked it", note="version after firmware")
add("hard_negative", "Section 1.2.3 describes the protocol", note="three-part number")
add("hard_negative", "Octets 999.1.1.1 are out of range")
add("hard_negative", "Meeting at 12:30:45 sharp", note="time")
add("hard_negative", "MAC 00:1A:2B:3C:4D:5E on eth0")
add("hard_negative", "Use std::vector<int> in C++")
add("hard_negative", "Aspect ratio 16:9 for the video")
add("hard_negative", "As John 3:16 says")
add("hard_negative", "Follow @jane_doe on the platform")
add("hard_negative", "Use the asset icon@2x.png for retina screens", note="image file name")
add("hard_negative", "Mail goes to root@localhost on the box", note="no top-level domain")
add("hard_negative", "Write to me at name [at] example [dot] com", note="obfuscated, not an address string")
add("hard_negative", "git clone git@github.com:org/repo.git", note="SSH remote, not a person's address")
add("hard_negative", "IBAN DE89 3704 0044 0532 0130 01 has a typo", note="check digits fail mod-97")
add("hard_negative", "Transfer to GB29 NWBK 6016 1331 9268 18 bounced", note="one digit changed, fails mod-97")
add("hard_negative", "Certified to ISO 9001:2015 and ISO 27001")
add("hard_negative", "Product code DE12 3456 is out of stock", note="too short for a German IBAN")
add("hard_negative", "Model XY12 ABCD EFGH sold out", note="unknown country code")
add("hard_negative", "The year 1984 and the number 42")
add("hard_negative", "Price: 4111 dollars for 1111 units", note="card-like digit groups in prose")
add("hard_negative", "Dial extension 4412 for sales")
add("hard_negative", "Python 3.11.7 and Node 20.10.0 are installed")
add("hard_negative", "Matrix 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", note="spaced small numbers")
add("hard_negative", "Ticket JIRA-4111-1111 reopened")


# ---------------- longer, realistic passages (tickets, logs, mail headers)
add("mixed", "2024-05-01T12:00:03Z GET /api/v1/users 200 {0}ms from {1}", "38", (A, "66.249.66.1"))
add("positive", "Reply-To: Sales Team <{0}>", (E, "sales@example.co.jp"))
add("positive", "Our hotline {0} is open 24/7.", (P, "+1 (800) 555-0175"))
add("positive", "WhatsApp {0} after six", (P, "+7 912 345-67-89"))
c3 = group(card("4", 16), [4, 4, 4, 4], " ")
add("mixed", "Ticket 88213: customer Jane Roe ({0}) says card {1} was charged twice; she called from {2}.",
    (E, "jane.roe@example.com"), (C, c3), (P, "(415) 555-0188"))
add("mixed", "Hi team,\nplease whitelist {0} and {1} for the vendor VPN.\nThanks, Raj ({2})",
    (A, "198.51.100.77"), (A, "2001:db8:abcd:12::1"), (E, "raj.p@example.in"))
b3 = iban("NL", "INGB0001234567")
add("mixed", "Salary account: {0}. Tax id (SSN) {1}.", (I, spaced(b3)), (S, "301-42-8876"))
add("positive", "firewall drop src={0} dst=10.0.0.5".replace("10.0.0.5", "{1}"), (A, "45.33.32.156"), (A, "10.0.0.5"))
add("positive", "From: \"Bob\" <{0}>", (E, "bob.builder@construction.example"))
add("positive", "my number changed, it's now {0}", (P, "646.555.0137"))
c4 = card("37", 15)
add("positive", "Amex {0} for the hotel", (C, group(c4, [4, 6, 5], " ")))
b4 = iban("BE", "096123456769")
add("positive", "Bitte auf {0} überweisen.", (I, spaced(b4)))
add("positive", "SSN:{0}", (S, "286-32-9910"))
add("hard_negative", "GUID 123e4567-e89b-12d3-a456-426614174000 created")
add("hard_negative", "Brand colour #4111AA on white")
add("hard_negative", "Semantic version 3.2.1-beta.4 is out")
add("hard_negative", "HTTP/1.1 200 OK after 1.2.3 retries")
add("hard_negative", "Patched CVE-2024-3094 in xz")
add("hard_negative", "Addresses follow RFC 5322 section 3.4.1")
add("hard_negative", "We watched 2001: A Space Odyssey")
add("hard_negative", "Mix ratio 3:2:1 by weight")
add("hard_negative", "Lap times 10:15:30.123 and 10:16:02.456")
add("hard_negative", "Donate to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", note="bitcoin address")
add("hard_negative", "Contract 0x742d35Cc6634C0532925a3b844Bc454e4438f44e deployed", note="ethereum address")
add("hard_negative", "SKU 5500-0000-0000-0004-99 restocked", note="card-like prefix inside a longer code")
add("hard_negative", "Unit test uses 4111 1111 1111 1112 as an invalid card", note="fails Luhn")
add("hard_negative", "Route 66 and Interstate 405 meet near 5th Avenue")
add("hard_negative", "Subnet mask bits /24 and port 8080 are open")
add("hard_negative", "The recipe serves 4-6 people and takes 45-60 minutes")
add("hard_negative", "Case no. 2:23-cv-01234 was dismissed", note="docket number")
add("hard_negative", "Flight LH 400 departs 13:45 from gate B44")

# ---------------- clean text
for t in ["The quarterly report is due next Tuesday.", "Can you summarise this article about renewable energy?",
          "Our team meets in room 204 on the second floor.", "Add two cups of flour and one egg.",
          "The API returns HTTP 404 when the user is missing.", "Deploy the service with three replicas.",
          "I loved the movie, especially the soundtrack.", "Temperature dropped to -5 degrees overnight.",
          "Please translate 'good morning' into Spanish.", "The contract renews every 12 months.",
          "Run the tests with dotnet test and check the output.", "He scored 3 goals in 90 minutes.",
          "Chapter 7 explains gradient descent.", "Sales rose 15% year over year.",
          "Lunch is at noon in the cafeteria."]:
    add("clean", t)

for row in out:
    print(json.dumps(row, ensure_ascii=False))
