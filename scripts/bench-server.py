#!/usr/bin/env python3
"""Load benchmark of `forge serve`: continuous batching under many concurrent streaming clients.

Phases, each against a fresh server with --parallel 4:
  1. one streaming client at a time, for the single-stream tokens/s;
  2. exactly 4 concurrent streaming clients, for the aggregate tokens/s of 4 streams;
  3. 16 concurrent streaming clients for --seconds: every request must complete or get a clean
     503, none may hang (each has a deadline), and the server's RSS is sampled throughout.
Exits non-zero if any request hangs or fails otherwise. Prints a summary table (and --json).

Usage: scripts/bench-server.py [--model PATH] [--seconds 60] [--max-tokens 64] [--json]
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = [
    "Write a short poem about the sea.",
    "Explain what a hash table is.",
    "List five fruits and their colours.",
    "Describe a walk in the forest.",
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Server:
    def __init__(self, forge, model, parallel, threads):
        self.port = free_port()
        self.log = open(os.devnull, "w")
        self.process = subprocess.Popen(
            [forge, "serve", "-m", model, "--port", str(self.port), "--parallel", str(parallel),
             "--ctx-size", str(1024 * parallel), "-t", str(threads)],
            stderr=subprocess.PIPE, stdout=self.log, text=True,
        )
        for line in self.process.stderr:
            if "listening on" in line:
                break
        else:
            raise SystemExit("bench-server: forge serve exited before it was ready")
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise SystemExit("bench-server: forge serve did not shut down within 30 s of SIGTERM")


def stream_chat(port, prompt, max_tokens, deadline_seconds):
    """Returns ("ok", tokens) or ("busy", 0); raises on a hang or a malformed reply."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=deadline_seconds)
    body = json.dumps({
        "model": "bench",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.7,
        "stream": True,
        "stream_options": {"include_usage": True},
    })
    connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    if response.status == 503:
        error = json.loads(response.read())
        if "error" not in error:
            raise RuntimeError(f"503 without an error object: {error}")
        return "busy", 0
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.read()[:200]!r}")
    tokens = None
    done = False
    for raw in response:
        line = raw.decode().strip()
        if not line.startswith("data: "):
            continue
        payload = line[len("data: "):]
        if payload == "[DONE]":
            done = True
            break
        chunk = json.loads(payload)
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
    connection.close()
    if not done or tokens is None:
        raise RuntimeError("stream ended without usage and [DONE]")
    return "ok", tokens


def concurrent_throughput(port, clients, requests_per_client, max_tokens):
    totals = []
    errors = []

    def client(index):
        try:
            for round_index in range(requests_per_client):
                prompt = PROMPTS[(index + round_index) % len(PROMPTS)]
                status, tokens = stream_chat(port, prompt, max_tokens, 300)
                if status != "ok":
                    raise RuntimeError("unexpected 503 with no more clients than slots")
                totals.append(tokens)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        raise SystemExit(f"bench-server: {errors[0]}")
    return sum(totals) / elapsed


def overload(server, clients, seconds, max_tokens):
    completed, busy, failures, tokens = [0], [0], [], [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    rss_samples = []

    def client(index):
        round_index = 0
        while time.monotonic() < stop_at:
            prompt = PROMPTS[(index + round_index) % len(PROMPTS)]
            round_index += 1
            try:
                status, count = stream_chat(server.port, prompt, max_tokens, 120)
            except Exception as error:  # noqa: BLE001 - a hang or a broken reply is a failure
                with lock:
                    failures.append(repr(error))
                return
            with lock:
                if status == "ok":
                    completed[0] += 1
                    tokens[0] += count
                else:
                    busy[0] += 1
            if status == "busy":
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        rss_samples.append(rss_mib(server.process.pid))
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "completed": completed[0],
        "rejected_503": busy[0],
        "failures": failures,
        "tokens_per_second": round(tokens[0] / elapsed, 1),
        "rss_mib_first": round(rss_samples[0], 1) if rss_samples else None,
        "rss_mib_max": round(max(rss_samples), 1) if rss_samples else None,
        "rss_mib_last": round(rss_samples[-1], 1) if rss_samples else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = os.environ.get("FORGE_MODELS", os.path.expanduser("~/.cache/forge/models"))
    parser.add_argument("--model", default=os.path.join(cache, "smollm2-135m-instruct-q4_1.gguf"))
    parser.add_argument("--forge", default=os.path.join(ROOT, ".build", "release", "forge"))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()

    server = Server(options.forge, options.model, parallel=4, threads=options.threads)
    try:
        concurrent_throughput(server.port, 1, 1, 8)  # warm-up
        single = concurrent_throughput(server.port, 1, 4, options.max_tokens)
        four = concurrent_throughput(server.port, 4, 2, options.max_tokens)
        load = overload(server, 16, options.seconds, options.max_tokens)
    finally:
        server.stop()

    summary = {
        "model": os.path.basename(options.model),
        "max_tokens": options.max_tokens,
        "single_stream_tokens_per_second": round(single, 1),
        "four_streams_tokens_per_second": round(four, 1),
        "speedup_four_vs_one": round(four / single, 2),
        "overload_16_clients": load,
    }
    if options.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"model {summary['model']}, --parallel 4, {options.max_tokens} tokens per request")
        print(f"| streams | aggregate tokens/s |\n|---|---|\n| 1 | {single:.1f} |\n| 4 | {four:.1f} ({four / single:.2f}x) |")
        print(
            f"16 clients for {load['seconds']} s: {load['completed']} completed, {load['rejected_503']} got 503, "
            f"{len(load['failures'])} failed; {load['tokens_per_second']} tokens/s; "
            f"server RSS {load['rss_mib_first']} -> max {load['rss_mib_max']} -> {load['rss_mib_last']} MiB"
        )
    if load["failures"]:
        print("bench-server: failures: " + "; ".join(load["failures"][:5]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
