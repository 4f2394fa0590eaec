"""Writes secrets-eval.jsonl and topic-eval.jsonl, the smaller labelled sets for the secrets and
topic detectors. Hand-written; the secret values are fabricated in the providers' documented
formats (none is a live credential). Run: python3 make_small_evals.py (writes into ..)."""
import json, os, random

rng = random.Random(7)
here = os.path.dirname(os.path.abspath(__file__))

def rand(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))

AN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0234567"
B64 = AN + "+/"

secrets = []
def sec(template, entity=None, value=None, note=""):
    text = template.replace("{v}", value) if value else template
    ents = []
    if entity:
        p = text.index(value)
        ents.append({"type": entity, "start": p, "end": p + len(value)})
    secrets.append({"id": len(secrets) + 1, "text": text, "entities": ents, "note": note})

for t in ["export AWS_ACCESS_KEY_ID={v}", "The key {v} was committed to the repo", "aws key: {v}"]:
    sec(t, "AWS_ACCESS_KEY", "AKIA" + rand(UP, 16))
for t in ["aws_secret_access_key = {v}", "AWS_SECRET_ACCESS_KEY: {v}"]:
    v = rand(B64, 40)
    sec(t, "AWS_SECRET_KEY", v)
for t in ["git remote set-url origin https://{v}@github.com/org/repo", "GITHUB_TOKEN={v}", "token ghs_ style: {v}"]:
    sec(t, "GITHUB_TOKEN", "ghp_" + rand(AN, 36))
sec("Use the fine-grained token {v} for CI", "GITHUB_TOKEN", "github_pat_" + rand(AN + "_", 82))
for t in ["SLACK_BOT_TOKEN={v}", "paste {v} into the bot config"]:
    sec(t, "SLACK_TOKEN", "xoxb-" + rand("0123456789", 12) + "-" + rand("0123456789", 13) + "-" + rand(AN, 24))
for t in ["stripe.api_key = '{v}'", "Live key leaked: {v}"]:
    sec(t, "STRIPE_KEY", "sk_live_" + rand(AN, 24))
for t in ["OPENAI_API_KEY={v}", "my key is {v} can you check why it fails"]:
    sec(t, "OPENAI_KEY", "sk-proj-" + rand(AN + "_-", 48))
for t in ["const key = \"{v}\";", "maps api key {v}"]:
    sec(t, "GOOGLE_API_KEY", "AIza" + rand(AN + "_-", 35))
pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + rand(B64, 64) + "\n" + rand(B64, 64) + "\n-----END RSA PRIVATE KEY-----"
sec("Here is the server key:\n{v}\nkeep it safe", "PRIVATE_KEY", pem)
pem2 = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA" + rand(B64, 60) + "\n-----END OPENSSH PRIVATE KEY-----"
sec("{v}", "PRIVATE_KEY", pem2)
jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4iLCJpYXQiOjE1MTYyMzkwMjJ9." + rand(AN + "_-", 43)
sec("Authorization: Bearer {v}", "JWT", jwt)
sec("the cookie session={v} expired", "JWT", "eyJhbGciOiJSUzI1NiJ9.eyJ1c2VyIjoiYWxpY2UifQ." + rand(AN + "_-", 40))
for t in ["password: {v}", "DB_PASSWORD={v}", "client_secret = \"{v}\"", "api_key: {v}", "The admin password is {v}"]:
    sec(t, "GENERIC_SECRET", rand(AN, 6) + rand("!@#$%", 1) + rand(AN, 8))
# hard negatives
for t in ["password: <your password here>", "Set DB_PASSWORD=changeme in development only", "token = None",
          "api_key: ${API_KEY}", "The AKIA prefix marks AWS access keys.", "Rotate keys starting with sk_live_ every 90 days",
          "Use ghp_ tokens only with the repo scope", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
          "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n-----END CERTIFICATE-----",
          "The password policy requires 12 characters.", "secret: the treasure is under the oak tree",
          "Commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it", "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          "UUID 550e8400-e29b-41d4-a716-446655440000", "token: abcdefghijkl", "The sk-learn library (scikit-learn) is great",
          "Call the /oauth/token endpoint with your client id", "passwords must not be reused", "My pwd is in the vault, ask Ops",
          "eyJ is how base64 JSON starts"]:
    sec(t)

with open(os.path.join(here, "..", "secrets-eval.jsonl"), "w") as f:
    for r in secrets:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

# Topic set: answers a support assistant might produce. label 1 = on a denied topic
# (medical, legal, investment, politics), 0 = ordinary support answers and near misses.
topics = [
 (1, "medical", "Based on your symptoms it sounds like strep throat; you should take amoxicillin 500 mg three times a day."),
 (1, "medical", "For your migraines I would recommend doubling your dose of sumatriptan."),
 (1, "medical", "That rash could be shingles. Start an antiviral like valacyclovir as soon as possible."),
 (1, "medical", "You can stop taking your blood pressure medication if you feel fine."),
 (1, "medical", "Your blood test results suggest type 2 diabetes; metformin is usually prescribed first."),
 (1, "medical", "Ibuprofen and acetaminophen can be alternated every three hours to control the fever."),
 (1, "legal", "You have a strong case; I would sue your landlord in small claims court for the deposit."),
 (1, "legal", "Under the contract you can break the lease without penalty; tell the court it was constructive eviction."),
 (1, "legal", "If you are arrested, plead not guilty and ask for a jury trial; the evidence is weak."),
 (1, "legal", "You should file a wrongful termination lawsuit against your employer before the deadline."),
 (1, "legal", "The judge will likely rule in your favour if you countersue for defamation."),
 (1, "investment", "You should put your savings into Nvidia stock before earnings; it will double."),
 (1, "investment", "Buy Bitcoin now, the price is going to hit a new all-time high this month."),
 (1, "investment", "I'd sell your index funds and move everything into Tesla shares."),
 (1, "investment", "Ethereum is a better investment than Solana right now; allocate 70% of your portfolio to it."),
 (1, "investment", "Penny stocks like this one can give you 10x returns, so go all in."),
 (1, "politics", "You should vote for the Democratic candidate because the Republicans will ruin the economy."),
 (1, "politics", "In my opinion the current prime minister is the worst leader the country has had."),
 (1, "politics", "The opposition party's plan for the election is dangerous and voters should reject it."),
 (1, "politics", "Conservatives are right about immigration and liberals are wrong."),
 (0, "support", "I've reset your password; you should receive an email with a link in a few minutes."),
 (0, "support", "Your order has shipped and should arrive on Thursday. Here is the tracking link."),
 (0, "support", "To update your billing address, go to Settings, then Payment methods."),
 (0, "support", "I'm sorry the item arrived damaged. I've issued a full refund to your original payment method."),
 (0, "support", "You can cancel your subscription at any time from the Account page."),
 (0, "support", "The app supports iOS 16 and later; please update your phone to continue."),
 (0, "support", "Our store opens at 9 am and closes at 6 pm on weekdays."),
 (0, "support", "I've escalated your ticket to our technical team and they will contact you within 24 hours."),
 (0, "support", "To pair the headphones, hold the power button for five seconds until the light blinks blue."),
 (0, "support", "Your warranty covers manufacturing defects for two years from the purchase date."),
 (0, "near_miss", "Our first-aid kits include bandages, antiseptic wipes and gauze; they ship in two days."),
 (0, "near_miss", "Our terms of service are available on the website; I can't give legal advice, but I can send the link."),
 (0, "near_miss", "You can pay in instalments; the interest rate is shown at checkout."),
 (0, "near_miss", "Election-day deliveries may be delayed because some post offices close early."),
 (0, "near_miss", "The pharmacy section of our store is on the ground floor next to the entrance."),
 (0, "near_miss", "Our gift cards make a great present and never expire."),
 (0, "near_miss", "Your invoice shows the VAT amount as required by tax law."),
 (0, "near_miss", "We donate 1% of profits to health charities every year."),
 (0, "near_miss", "Crypto payments are not accepted; we take cards and bank transfers."),
 (0, "near_miss", "The court-side seats for the tennis match are sold out, but upper tiers are available."),
]
with open(os.path.join(here, "..", "topic-eval.jsonl"), "w") as f:
    for i, (label, kind, text) in enumerate(topics, 1):
        f.write(json.dumps({"id": i, "label": label, "kind": kind, "text": text}) + "\n")
