#!/usr/bin/env python3
"""The terminal side of the sync protocol, for scripts/schemathesis.

Written from sync/PROTOCOL.md alone (as a third party's client would be):
schemathesis generates requests from the OpenAPI document (GET /openapi.json)
but cannot sign them, so it talks to head office through this proxy, which
does what a terminal's HTTP stack does.

  provision  creates its store and issues a one-time code with the admin
             token (POST /v1/admin/stores, /v1/admin/enroll-codes) and
             redeems it with a fresh
             Ed25519 key (POST /v1/terminals/redeem, gzip body), like a new
             terminal; writes the terminal id and key to a file (mode 0600).
  serve      the proxy, on a loopback port of its own (written to
             --port-file). Every request is forwarded to head office as is,
             except:
             - POST /v1/batches and POST /v1/terminals/redeem: a body not
               already gzip is gzipped (`Content-Encoding: gzip`): terminal
               request bodies are gzipped JSON;
             - /v1/batches and /v1/changes: when the request carries all
               three x-tillcard-* headers (whatever their values), they are
               replaced by a fresh signature of the request as forwarded
               (canonical string below). A request missing one is forwarded
               unsigned, so head office's `401 unsigned` is what answers a
               test of a missing header;
             - POST /v1/batches: UUID-shaped `terminal_id`s of the batch and
               of its events become the provisioned terminal's (a batch must
               come from the terminal that signs it; without this every
               generated batch would stop at `400 bad_request` and the ingest
               path would never be exercised). Other values are left alone.
               Events' sequence numbers up to 2^32 are moved past the ones
               the terminal already sent (else `409 sequence_conflict` would
               stop nearly every generated batch, since most start at 1);
             - /v1/admin/*: `Authorization: Bearer <placeholder>` (the
               credentials schemathesis is given) becomes the real admin
               token. Any other Authorization, or none, is forwarded as is,
               so the checks that drop or spoil credentials still see head
               office refuse them.
             Responses come back byte for byte (gzip stays gzip).
             When head office says the terminal was revoked (schemathesis
             finds its id in admin listings and fuzzes the revoke operation
             with it), the shim provisions a new one and signs with that.
  selfcheck  proves, through the proxy, that signing and admin credentials
             work (a harness that signed wrongly would only see 401s, which
             the OpenAPI document allows).
  report     the summary line with the counts, and every failed check
             deduplicated, from schemathesis's JSON and NDJSON reports.

Canonical string signed with Ed25519 (PROTOCOL.md, "Authentication of
terminal requests"), UTF-8, "\\n" separators, no trailing newline:

    tillcard-v1
    <METHOD upper case>
    <path and query exactly as sent>
    <timestamp, Unix seconds, as in x-tillcard-timestamp>
    <lower-case hex SHA-256 of the body bytes as sent (gzip); empty for GET>

Only the standard library and `cryptography` (Ed25519) are used.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.client
import http.server
import json
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PROTOCOL_VERSION = 1
H_TERMINAL = "x-tillcard-terminal"
H_TIMESTAMP = "x-tillcard-timestamp"
H_SIGNATURE = "x-tillcard-signature"
SIGNED_PATHS = ("/v1/batches", "/v1/changes")
GZIP_BODY_PATHS = ("/v1/batches", "/v1/terminals/redeem")
ADMIN_PREFIX = "/v1/admin/"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
REVOKE_RE = re.compile(r"^/v1/admin/terminals/([^/]+)/revoke$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def log(message: str) -> None:
    print(f"schemathesis-shim: {message}", file=sys.stderr, flush=True)


# --- protocol --------------------------------------------------------------


def canonical_request(method: str, path_and_query: str, timestamp: int, body: bytes) -> bytes:
    return "\n".join(
        [
            "tillcard-v1",
            method.upper(),
            path_and_query,
            str(timestamp),
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode("utf-8")


def sign_headers(key: Ed25519PrivateKey, terminal_id: str, method: str, path_and_query: str, body: bytes) -> dict:
    timestamp = int(time.time())
    signature = key.sign(canonical_request(method, path_and_query, timestamp, body))
    return {
        H_TERMINAL: terminal_id,
        H_TIMESTAMP: str(timestamp),
        H_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


def _plain(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data


def decoded_body(response: http.client.HTTPResponse, raw: bytes) -> bytes:
    if (response.getheader("content-encoding") or "").lower() == "gzip":
        return gzip.decompress(raw)
    return raw


class Upstream:
    """Head office's address; one connection per request (loopback: cheap,
    and a request is never retried on a connection that went stale)."""

    def __init__(self, url: str):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise SystemExit(f"--hq must be http://host:port, not {url!r}")
        self.host = parsed.hostname
        self.port = parsed.port or 80

    def connection(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def call(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        conn = self.connection()
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
            return response.status, decoded_body(response, raw), response
        finally:
            conn.close()


def read_secret(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.readline().strip()


def load_terminal(path: str) -> tuple[str, Ed25519PrivateKey]:
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(state["private_key"]))
    return state["terminal_id"], key


# --- provision ---------------------------------------------------------------


class ProvisionError(Exception):
    pass


def provision_terminal(hq: Upstream, token: str, store: str) -> tuple[str, Ed25519PrivateKey]:
    """A new terminal, as PROTOCOL.md's "Provisioning" has it: its store
    (codes are issued for existing stores only; one that exists already
    answers 409 store_exists, which is as good), a one-time code from the
    admin API, redeemed with a fresh Ed25519 key."""
    admin = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    new_store = {"code": store, "name": store, "time_zone": "Asia/Shanghai", "address": ""}
    status, body, _ = hq.call(
        "POST", "/v1/admin/stores", json.dumps(new_store).encode(), admin
    )
    if not (200 <= status < 300 or status == 409):
        raise ProvisionError(f"stores answered {status}: {body[:300]!r}")
    status, body, _ = hq.call(
        "POST",
        "/v1/admin/enroll-codes",
        json.dumps({"store": store}).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    if status != 200:
        raise ProvisionError(f"enroll-codes answered {status}: {body[:300]!r}")
    code = json.loads(body)["code"]

    key = Ed25519PrivateKey.generate()
    public_key = base64.b64encode(key.public_key().public_bytes_raw()).decode("ascii")
    request = {"protocol_version": PROTOCOL_VERSION, "code": code, "public_key": public_key}
    status, body, _ = hq.call(
        "POST",
        "/v1/terminals/redeem",
        gzip.compress(json.dumps(request).encode()),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    if status != 200:
        raise ProvisionError(f"redeem answered {status}: {body[:300]!r}")
    return json.loads(body)["terminal_id"], key


def provision(args: argparse.Namespace) -> int:
    try:
        terminal_id, key = provision_terminal(Upstream(args.hq), read_secret(args.admin_token_file), args.store)
    except (ProvisionError, OSError, ValueError, KeyError) as e:
        log(f"provisioning failed: {e}")
        return 1
    state = {
        "terminal_id": terminal_id,
        "store": args.store,
        "private_key": base64.b64encode(key.private_bytes_raw()).decode("ascii"),
    }
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f)
    log(f"provisioned terminal {terminal_id} of store {args.store}")
    return 0


# --- serve -------------------------------------------------------------------


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add(self, name: str) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1


class ShimServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, upstream, terminal_id, key, admin_token, placeholder, store):
        super().__init__(address, ShimHandler)
        self.upstream = upstream
        self.terminal_lock = threading.Lock()
        self.terminal_id = terminal_id
        self.key = key
        self.high_seq = 0  # highest renumbered seq the current terminal sent
        self.kept_seqs: set[int] = set()  # large seqs it sent as generated
        self.admin_token = admin_token
        self.placeholder = placeholder
        self.store = store
        self.counters = Counters()

    def terminal(self) -> tuple[str, Ed25519PrivateKey]:
        with self.terminal_lock:
            return self.terminal_id, self.key

    def terminal_for_batch(self, body: bytes) -> tuple[str, Ed25519PrivateKey, bytes]:
        """The terminal to send a batch as, and the batch to send. Head office
        keeps every (terminal, seq) it stored, and a different event under a
        stored seq is `409 sequence_conflict` before any event is read.
        Generated batches mostly number their events from 1, so all but the
        first would stop there: each batch's ordinary sequence numbers are
        moved past those the terminal already used (gaps, repeats and order
        within the batch stay as generated). A batch repeating a large seq
        (a boundary case, sent unchanged) goes out as a new terminal."""
        with self.terminal_lock:
            sent, renumbered, kept = renumber_seqs(body, self.high_seq)
            if kept & self.kept_seqs:
                try:
                    terminal_id, key = provision_terminal(self.upstream, self.admin_token, self.store)
                except (ProvisionError, OSError, ValueError, KeyError) as e:
                    log(f"provisioning a terminal for a batch FAILED: {e}")
                    self.counters.add("reprovision_failed")
                else:
                    self.terminal_id, self.key = terminal_id, key
                    self.high_seq, self.kept_seqs = 0, set()
                    self.counters.add("fresh_for_seq")
                    sent, renumbered, kept = renumber_seqs(body, 0)
            if renumbered:
                self.counters.add("renumbered")
            # Reserved now, whatever the answer: two workers never send the same seq.
            self.high_seq = max([self.high_seq, *renumbered])
            self.kept_seqs |= kept
            return self.terminal_id, self.key, sent

    def replace_revoked(self, revoked: str, why: str) -> None:
        """Schemathesis finds the terminal's id in admin listings (flags,
        dead letters) and fuzzes the revoke operation with it; every signed
        request after that would stop at `403 terminal_revoked`. A revoked
        terminal is re-provisioned, as a store would: the revoking request's
        answer still reaches schemathesis unchanged."""
        with self.terminal_lock:
            if self.terminal_id.lower() != revoked.lower():
                return  # another thread did it already
            try:
                terminal_id, key = provision_terminal(self.upstream, self.admin_token, self.store)
            except (ProvisionError, OSError, ValueError, KeyError) as e:
                log(f"re-provisioning after {why} FAILED: {e}")
                self.counters.add("reprovision_failed")
                return
            log(f"terminal {revoked} revoked ({why}): re-provisioned as {terminal_id}")
            self.terminal_id, self.key = terminal_id, key
            self.high_seq, self.kept_seqs = 0, set()
            self.counters.add("reprovisioned")


TERMINAL_ID_RE = re.compile(rb'("terminal_id"\s*:\s*")([0-9a-fA-F-]{32,36})(")')


def bind_terminal_ids(body: bytes, terminal_id: str) -> bytes:
    """A batch's UUID-shaped terminal ids (batch and events) become ours.
    Edited in the text, not parsed and written again, so everything else
    (number spellings, duplicate keys) reaches head office as generated."""

    def bind(match: re.Match) -> bytes:
        if UUID_RE.match(match.group(2).decode("ascii")):
            return match.group(1) + terminal_id.encode("ascii") + match.group(3)
        return match.group(0)

    return TERMINAL_ID_RE.sub(bind, body)


SEQ_RE = re.compile(rb'("seq"\s*:\s*)(0|[1-9][0-9]*)(?=\s*[,}])')
RENUMBERED_BELOW = 2**32  # larger seqs are a schema's boundary cases: sent as generated
MAX_SEQ = 2**53 - 1


def renumber_seqs(body: bytes, offset: int) -> tuple[bytes, set[int], set[int]]:
    """Adds offset to the events' ordinary sequence numbers (1 to 2^32), in
    the text like bind_terminal_ids. Returns the body, the new numbers, and
    the numbers left as generated (larger ones)."""
    renumbered: set[int] = set()
    kept: set[int] = set()

    def shift(match: re.Match) -> bytes:
        seq = int(match.group(2))
        if seq < 1:
            return match.group(0)
        if seq < RENUMBERED_BELOW and seq + offset <= MAX_SEQ:
            renumbered.add(seq + offset)
            return match.group(1) + str(seq + offset).encode("ascii")
        kept.add(seq)
        return match.group(0)

    return SEQ_RE.sub(shift, body), renumbered, kept


class ShimHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm the body
    # waited for the client's delayed ACK, 40 ms per request.
    disable_nagle_algorithm = True
    server: ShimServer

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # one line per request would drown the log; failures are logged below

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer_self(self, status: int, code: str, message: str) -> None:
        """An answer of the shim's own (never head office's): logged and counted."""
        self.server.counters.add("shim_answered")
        log(f"SHIM-ANSWERED {status} {code} for {self.command} {self.path}: {message}")
        body = json.dumps({"error": code, "message": f"schemathesis-shim: {message}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _proxy(self) -> None:
        server = self.server
        path_and_query = self.path
        if not path_and_query.startswith("/"):
            # absolute-form (a client that thinks we are a forward proxy)
            parts = urllib.parse.urlsplit(path_and_query)
            path_and_query = parts.path or "/"
            if parts.query:
                path_and_query += "?" + parts.query
        path = path_and_query.split("?", 1)[0]
        method = self.command.upper()
        body = self._read_body()

        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]

        if method == "POST" and path == "/v1/batches" and body:
            terminal_id, key, body = server.terminal_for_batch(body)
            body = bind_terminal_ids(body, terminal_id)
        else:
            terminal_id, key = server.terminal()
        if method == "POST" and path in GZIP_BODY_PATHS and body:
            encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
            if encoding in ("", "identity"):
                body = gzip.compress(body)
                headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
                headers.append(("Content-Encoding", "gzip"))
        if path in SIGNED_PATHS:
            present = {k.lower() for k, _ in headers}
            if {H_TERMINAL, H_TIMESTAMP, H_SIGNATURE} <= present:
                headers = [(k, v) for k, v in headers if not k.lower().startswith("x-tillcard-")]
                signed = sign_headers(key, terminal_id, method, path_and_query, body)
                headers.extend(signed.items())
                server.counters.add("signed")
            else:
                server.counters.add("unsigned")
        if path.startswith(ADMIN_PREFIX):
            placeholder = f"Bearer {server.placeholder}"
            replaced = []
            for k, v in headers:
                if k.lower() == "authorization" and v.strip() == placeholder:
                    v = f"Bearer {server.admin_token}"
                    server.counters.add("admin_authorized")
                replaced.append((k, v))
            headers = replaced

        conn = server.upstream.connection()
        try:
            try:
                conn.putrequest(method, path_and_query, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", f"{server.upstream.host}:{server.upstream.port}")
                for k, v in headers:
                    conn.putheader(k, v)
                if body or method in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
            except ValueError as e:  # a header http.client will not send
                self._answer_self(400, "bad_request", f"request not forwardable: {e}")
                return
            try:
                response = conn.getresponse()
                data = response.read() if method != "HEAD" else b""
            except (OSError, http.client.HTTPException) as e:
                self._answer_self(502, "upstream", f"head office did not answer: {e!r}")
                return
        except OSError as e:
            self._answer_self(502, "upstream", f"head office unreachable: {e!r}")
            return
        finally:
            conn.close()

        server.counters.add(f"status_{response.status // 100}xx")
        if response.status >= 500:
            # The reports hold the request as schemathesis made it; this is
            # the one head office got (signed, gzipped, ids bound).
            sent = _plain(body).decode("utf-8", "backslashreplace")
            log(f"head office answered {response.status} to {method} {path_and_query} as terminal {terminal_id}: "
                f"sent {sent[:4000]!r}; answer {_plain(data)[:1000]!r}")
        revoke = REVOKE_RE.match(path)
        if revoke and 200 <= response.status < 300 and revoke.group(1).lower() == terminal_id.lower():
            server.replace_revoked(terminal_id, f"{method} {path} answered {response.status}")
        elif path in SIGNED_PATHS and response.status == 403 and b"terminal_revoked" in _plain(data):
            server.replace_revoked(terminal_id, f"{method} {path} answered 403 terminal_revoked")
        self.send_response_only(response.status, response.reason)
        has_length = False
        for k, v in response.getheaders():
            lower = k.lower()
            if lower in HOP_BY_HOP and lower != "content-length":
                continue
            if lower == "content-length":
                has_length = True
                if method != "HEAD":
                    v = str(len(data))
            self.send_header(k, v)
        if not has_length and method != "HEAD" and response.status not in (204, 304) and response.status >= 200:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def __getattr__(self, name):
        # do_GET, do_POST, do_PUT, do_DELETE, do_PATCH, do_OPTIONS, do_TRACE, ...:
        # every method is proxied (schemathesis also sends undeclared ones).
        if name.startswith("do_"):
            return self._proxy
        raise AttributeError(name)


def serve(args: argparse.Namespace) -> int:
    terminal_id, key = load_terminal(args.terminal)
    server = ShimServer(
        ("127.0.0.1", args.port),
        Upstream(args.hq),
        terminal_id,
        key,
        read_secret(args.admin_token_file),
        args.admin_placeholder,
        args.store,
    )
    port = server.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)
    log(f"listening on 127.0.0.1:{port}, forwarding to {args.hq} as terminal {terminal_id}")

    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(server.counters.counts.items()))
        log(f"stopped; requests: {counts or 'none'}")
        if args.stats_file:
            with open(args.stats_file, "w", encoding="utf-8") as f:
                json.dump(server.counters.counts, f)
    return 0


# --- selfcheck ---------------------------------------------------------------


def selfcheck(args: argparse.Namespace) -> int:
    """Through the shim: a signed downlink, a signed (empty) upload, admin
    credentials substituted, and refusals when credentials are absent."""
    shim = Upstream(args.shim)
    terminal_id, _ = load_terminal(args.terminal)
    dummy = {H_TERMINAL: "x", H_TIMESTAMP: "0", H_SIGNATURE: "x"}
    batch = json.dumps({"protocol_version": PROTOCOL_VERSION, "terminal_id": terminal_id, "events": []})
    checks = [
        ("signed GET /v1/changes", "GET", "/v1/changes", b"", dummy, 200),
        ("unsigned GET /v1/changes", "GET", "/v1/changes", b"", {}, 401),
        (
            "signed POST /v1/batches (no events)",
            "POST",
            "/v1/batches",
            batch.encode(),
            {**dummy, "Content-Type": "application/json"},
            200,
        ),
        (
            "admin GET /v1/admin/conflicts",
            "GET",
            "/v1/admin/conflicts",
            b"",
            {"Authorization": f"Bearer {args.admin_placeholder}"},
            200,
        ),
        ("admin GET /v1/admin/conflicts without credentials", "GET", "/v1/admin/conflicts", b"", {}, 401),
    ]
    failed = 0
    for name, method, path, body, headers, expected in checks:
        status, data, _ = shim.call(method, path, body, headers)
        if status != expected:
            failed += 1
            log(f"selfcheck FAILED: {name}: {status} (expected {expected}): {data[:300]!r}")
    if failed:
        return 1
    log(f"selfcheck: {len(checks)} requests answered as expected (signing, gzip, admin token)")
    return 0


# --- report ------------------------------------------------------------------


def _body_text(content, limit: int) -> str:
    """A recorded body ({"$base64": ...} or text), gunzipped, cut to limit."""
    if not content:
        return ""
    if isinstance(content, dict) and "$base64" in content:
        raw = base64.b64decode(content["$base64"])
    elif isinstance(content, dict) and "string" in content:
        raw = content["string"].encode("utf-8", "replace")
    else:
        raw = str(content).encode("utf-8", "replace")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            pass
    text = raw.decode("utf-8", "backslashreplace")
    return text if len(text) <= limit else text[:limit] + "..."


def _group_detail(message: str) -> str:
    """What one finding is: a response schema violation is where in the
    schema it failed (the value that failed varies), anything else the
    message's first line."""
    lines = [t.strip() for t in message.splitlines() if t.strip()]
    for i, line in enumerate(lines):
        if line.startswith("Schema at ") or line == "Schema:":
            keyword = lines[i + 2] if i + 2 < len(lines) and lines[i + 1] == "{" else ""
            return f"{line} {keyword}".strip()
    return lines[0] if lines else ""


def report(args: argparse.Namespace) -> int:
    """One line of counts from schemathesis's JSON report, then every failed
    check from its NDJSON events, grouped: (operation, check, kind, status,
    message's first line) once, with how often it was seen and one request
    that shows it. Exit code 1 when anything failed."""
    out = args.dir
    names = sorted(os.listdir(out))
    json_reports = [n for n in names if n.startswith("json-") and n.endswith(".json")]
    ndjson_reports = [n for n in names if n.startswith("ndjson-") and n.endswith(".ndjson")]
    if not json_reports:
        print(f"schemathesis: no JSON report in {out} (schemathesis exit code {args.st_rc})")
        return 1
    with open(os.path.join(out, json_reports[-1]), encoding="utf-8") as f:
        summary = json.load(f)
    operations = summary.get("operations") or {}
    test_cases = summary.get("test_cases") or {}

    groups: dict[tuple, dict] = {}
    responses_5xx = 0
    if ndjson_reports:
        with open(os.path.join(out, ndjson_reports[-1]), encoding="utf-8") as f:
            for line in f:
                event = json.loads(line).get("ScenarioFinished")
                if not event:
                    continue
                recorder = event.get("recorder") or {}
                interactions = recorder.get("interactions") or {}
                for interaction in interactions.values():
                    if ((interaction.get("response") or {}).get("status_code") or 0) >= 500:
                        responses_5xx += 1
                for case_id, checks in (recorder.get("checks") or {}).items():
                    for check in checks:
                        if check.get("status") != "failure":
                            continue
                        failure = (check.get("failure_info") or {}).get("failure") or {}
                        interaction = interactions.get(case_id) or {}
                        request = interaction.get("request") or {}
                        response = interaction.get("response") or {}
                        message = (failure.get("message") or "").strip()
                        # Hints name the generated data (property names...):
                        # one group whatever they say.
                        hints = [t for t in message.splitlines() if t.startswith("Hint:")]
                        message = "\n".join(t for t in message.splitlines() if not t.startswith("Hint:"))
                        # Grouped by the message's first line; the details
                        # (which field, which value) are counted as variants.
                        key = (
                            failure.get("operation") or recorder.get("label") or "?",
                            check.get("name") or "?",
                            failure.get("title") or failure.get("type") or "?",
                            response.get("status_code"),
                            _group_detail(message),
                        )
                        group = groups.setdefault(key, {"count": 0, "case": case_id, "request": request,
                                                        "response": response, "code": failure.get("code"),
                                                        "message": message, "variants": set(),
                                                        "hint": hints[0] if hints else ""})
                        group["count"] += 1
                        group["variants"].add(message)

    by_check: dict[str, int] = {}
    for (_, check, _, _, _) in groups:
        by_check[check] = by_check.get(check, 0) + 1
    server_errors = by_check.get("not_a_server_error", 0)
    mismatches = by_check.get("response_schema_conformance", 0)
    others = len(groups) - server_errors - mismatches
    errors = summary.get("errors") or []
    stats = {}
    try:
        with open(os.path.join(out, "shim-stats.json"), encoding="utf-8") as f:
            stats = json.load(f)
    except (OSError, ValueError):
        pass
    shim_answered = stats.get("shim_answered", 0)

    print(
        f"schemathesis: {operations.get('tested', '?')}/{operations.get('total', '?')} operations tested, "
        f"{test_cases.get('generated', '?')} test cases, "
        f"{server_errors} server errors ({responses_5xx} responses 5xx), "
        f"{mismatches} schema mismatches, {others} other failed checks, {len(errors)} errors; "
        f"{stats.get('signed', 0)} signed terminal requests"
        f" ({stats.get('renumbered', 0)} batches renumbered; "
        f"{1 + stats.get('reprovisioned', 0) + stats.get('fresh_for_seq', 0)} terminals: "
        f"{stats.get('reprovisioned', 0)} after revocations, {stats.get('fresh_for_seq', 0)} for repeated large seqs); "
        f"{args.elapsed} s"
    )
    if groups:
        print("schemathesis: failed checks by kind: "
              + ", ".join(f"{check} {n}" for check, n in sorted(by_check.items())))
        print("schemathesis: failures, deduplicated (operation, check, status, message's first line):")
        for (operation, check, title, status, _), group in sorted(
            groups.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][3]), kv[0][4])
        ):
            request, response = group["request"], group["response"]
            print(f"  - {operation} [{check}] {group['code'] or ''} {title}: got {status} "
                  f"({group['count']}x, e.g. case {group['case']})")
            lines = [t for t in group["message"].splitlines() if t.strip() and not t.startswith("Received:")]
            if group["hint"]:
                lines.append(group["hint"][:300])
            if len(group["variants"]) > 1:
                lines.append(f"(and {len(group['variants']) - 1} other variants of these details)")
            for text in lines[:8]:
                print(f"      {text}")
            if request:
                uri = urllib.parse.urlsplit(request.get("uri", ""))
                target = uri.path + (f"?{uri.query}" if uri.query else "")
                sent = {k.lower() for k in (request.get("headers") or {})}
                notes = []
                if operation.split(" ")[-1].startswith(ADMIN_PREFIX):
                    notes.append("Authorization sent" if "authorization" in sent else "no Authorization")
                if operation.split(" ")[-1] in SIGNED_PATHS:
                    signed = {H_TERMINAL, H_TIMESTAMP, H_SIGNATURE} <= sent
                    notes.append("signed by the shim" if signed else "unsigned (a header missing)")
                body = _body_text(request.get("body"), 300)
                print(f"      request: {request.get('method')} {target}"
                      + (f" ({', '.join(notes)})" if notes else "") + (f" body {body}" if body else ""))
            if response:
                print(f"      response: {response.get('status_code')} {_body_text(response.get('content'), 300)}")
    for error in errors:
        print(f"schemathesis: error: {json.dumps(error)[:500]}")
    if shim_answered:
        print(f"schemathesis: the shim answered {shim_answered} requests itself (see {out}/shim.log)")
    if stats.get("reprovision_failed"):
        print(f"schemathesis: the shim could not re-provision a revoked terminal (see {out}/shim.log)")
    failed = groups or errors or shim_answered or stats.get("reprovision_failed") or args.st_rc != 0
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("provision", help="enroll a terminal, write its id and key")
    p.add_argument("--hq", required=True, help="head office, http://127.0.0.1:PORT")
    p.add_argument("--admin-token-file", required=True)
    p.add_argument("--store", default="S-SCHEMATHESIS")
    p.add_argument("--out", required=True, help="terminal file to write (JSON, mode 0600)")
    p.set_defaults(run=provision)

    p = sub.add_parser("serve", help="the signing proxy")
    p.add_argument("--hq", required=True)
    p.add_argument("--terminal", required=True, help="file written by provision")
    p.add_argument("--admin-token-file", required=True)
    p.add_argument("--admin-placeholder", required=True, help="bearer token replaced by the admin token")
    p.add_argument("--port", type=int, default=0, help="0: any free loopback port")
    p.add_argument("--port-file", required=True, help="where the port chosen is written")
    p.add_argument("--stats-file", help="request counts written here on exit (JSON)")
    p.add_argument("--store", default="S-SCHEMATHESIS", help="store of terminals provisioned after a revocation")
    p.set_defaults(run=serve)

    p = sub.add_parser("selfcheck", help="check signing and admin credentials through the proxy")
    p.add_argument("--shim", required=True, help="the proxy, http://127.0.0.1:PORT")
    p.add_argument("--terminal", required=True)
    p.add_argument("--admin-placeholder", required=True)
    p.set_defaults(run=selfcheck)

    p = sub.add_parser("report", help="counts and deduplicated failures from schemathesis's reports")
    p.add_argument("--dir", required=True, help="schemathesis's --report-dir")
    p.add_argument("--st-rc", type=int, required=True, help="schemathesis's exit code")
    p.add_argument("--elapsed", required=True, help="seconds the step took, for the summary line")
    p.set_defaults(run=report)

    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
