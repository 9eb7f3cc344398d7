#!/usr/bin/env python3
"""Writes the seed corpus (corpus/<target>/seed-*) from the protocol's own
examples: sync/PROTOCOL.md's upload batch, the canonical writer's test
texts, and cards signed as the terminal signs them (docs/CREDENTIAL.md).
Run once by hand when the formats change; libFuzzer adds what it finds
beside the seeds. Needs Python's `cryptography` (scripts/schemathesis's
venv has it): target/schemathesis-venv/bin/python fuzz/seeds.py
"""
import gzip
import json
import os
import re
import shutil
import struct
import uuid
import zlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MAX_BODY_BYTES = 8 * 1024 * 1024


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def example(name):
    text = open(os.path.join(ROOT, "sync", "PROTOCOL.md"), encoding="utf-8").read()
    match = re.search(r"```json example=%s\n(.*?)```" % re.escape(name), text, re.S)
    return match.group(1)


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def gz(data, level=6, mtime=0):
    return gzip.compress(data, compresslevel=level, mtime=mtime)


def bomb(size):
    """`size` zero bytes as one gzip member, deflated as hard as zlib can."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + 15, 9)
    out = bytearray()
    chunk = bytes(1 << 20)
    left = size
    while left:
        n = min(left, len(chunk))
        out += c.compress(chunk[:n])
        left -= n
    return bytes(out + c.flush())


for target in ("upload_body", "gzip", "canonical_json", "card_token"):
    shutil.rmtree(os.path.join(HERE, "corpus", target), ignore_errors=True)

# upload_body: request bodies.
batch = json.loads(example("batch-every-kind"))
ack = json.loads(example("batch-ack"))
one = dict(batch, events=batch["events"][:1])
write("upload_body", "batch-every-kind", gz(canonical(batch).encode()))
write("upload_body", "batch-one-event", gz(json.dumps(one).encode(), level=1))
write("upload_body", "batch-ack", gz(canonical(ack).encode(), level=0))
write("upload_body", "bomb-over-limit", bomb(MAX_BODY_BYTES + 1))
write("upload_body", "bomb-at-limit", bomb(MAX_BODY_BYTES))
lying = bytearray(gz(canonical(one).encode()))
lying[-4:] = struct.pack("<I", 0xFFFFFFFF)
write("upload_body", "lying-size", bytes(lying))
write("upload_body", "trailing-byte", gz(b"{}") + b"\0")
write("upload_body", "two-members", gz(b"[1,") + gz(b"2]"))
write("upload_body", "empty", b"")

# gzip: level, cut, flip, mask, then the payload.
for i, payload in enumerate([b"", canonical(ack).encode(), canonical(one).encode()]):
    write("gzip", "payload-%d" % i, bytes([6]) + struct.pack(">II", 17, 3) + b"\x01" + payload)

# canonical_json: an envelope (ids, seq, monotonic, schema version, wall
# time: seconds, nanos, offset + 86,399), then a body.
envelope = (
    uuid.UUID("01a1f6ae-9900-7000-8000-000000000101").bytes
    + uuid.UUID("01a1f188-3d00-7000-8000-000000000001").bytes
    + struct.pack(">QQH", 1, 3660000, 1)
    + struct.pack(">QII", 1795399200, 0, 8 * 3600 + 86399)
)
for event in batch["events"]:
    body = event["body"]
    kind = body.get("type", "body")
    write("canonical_json", "%s-canonical" % kind, envelope + canonical(body).encode())
    write("canonical_json", "%s-spaced" % kind,
          envelope + json.dumps(body, indent=1, ensure_ascii=True).encode())
for i, text in enumerate([
    r'{"b":1,"a":2}', r'{"a":1,"a":2}', r'{"a":"\n","\u00e9":"\ud83d\ude00"}',
    '[0,-1,999999999999999999,-1234567890123456789,18446744073709551615]',
    '[1.5,-0,1e3,1E-7,0.1]', '"\\/"', '[' * 70 + ']' * 70,
]):
    write("canonical_json", "text-%d" % i, envelope + text.encode())

# card_token: 0 then a scanned text, or 1 then a credential to issue.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def base45(data):
    out = []
    for i in range(0, len(data), 2):
        if i + 1 < len(data):
            n = data[i] * 256 + data[i + 1]
            out += [n % 45, n // 45 % 45, n // 2025]
        else:
            out += [data[i] % 45, data[i] // 45]
    return "".join(ALPHABET[v] for v in out)


def card(seed, key_id, member, serial, issued_at, valid_until=None):
    body = bytes([1, 1 if valid_until is not None else 0]) + struct.pack(">H", key_id)
    body += member.bytes + struct.pack(">HI", serial, issued_at)
    if valid_until is not None:
        body += struct.pack(">I", valid_until)
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    signature = key.sign(b"tillcard/member-card/v1\0" + body)
    return "TC1:" + base45(body + signature)


member = uuid.UUID("01a1f6ae-9900-7000-8000-000000000010")
trusted = card(0x42, 7, member, 1, 1795399200)
write("card_token", "trusted", b"\0" + trusted.encode())
write("card_token", "trusted-lower-crlf", b"\0" + trusted.lower().encode() + b"\r\n")
write("card_token", "trusted-valid-until",
      b"\0" + card(0x42, 7, member, 2, 1795399200, 1826935200).encode())
write("card_token", "forged", b"\0" + card(0x13, 7, member, 1, 1795399200).encode())
write("card_token", "unknown-issuer", b"\0" + card(0x42, 9, member, 1, 1795399200).encode())
write("card_token", "not-base45", b"\0TC1:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 $%*+-./:")
write("card_token", "other-code", b"\0https://example.com/")
write("card_token", "issue", b"\x01\x01" + member.bytes + struct.pack(">HHII", 3, 7, 1795399200, 1826935200) + b"\0\x05")
