"""Two `forge serve` replicas behind Debian's nginx (docs/nginx-forge.conf), checked with the
official openai client. Run by scripts/test-replicas, which installs nginx and passes FORGE (the
binary), FORGE_MODEL (SmolLM2), FORGE_NGINX and FORGE_EOG_IDS (the end-of-generation token ids, banned
where a request must run its full length). Every wait has a deadline; every process started here
is ended on the way out. Prints `N passed, M failed` last and exits 1 on a failure."""

import concurrent.futures
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import openai

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORGE = os.environ["FORGE"]
MODEL = os.environ["FORGE_MODEL"]
NGINX = os.environ["FORGE_NGINX"]
NO_END = {token: -100 for token in os.environ["FORGE_EOG_IDS"].split(",") if token}
DRAIN_SECONDS = 20
work = tempfile.mkdtemp(prefix="forge-replicas-")
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {seconds} s waiting for {what}")


def http_get(url):
    """Status and headers of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


class Replica:
    """One `forge serve` on a fixed loopback port; its --alias names it in every response."""

    def __init__(self, name, port):
        self.name, self.port, self.process = name, port, None
        self.url = f"http://127.0.0.1:{port}"

    def start(self):
        log = open(os.path.join(work, f"{self.name}.log"), "w")
        self.process = subprocess.Popen(
            [FORGE, "serve", "-m", MODEL, "--host", "127.0.0.1", "--port", str(self.port), "--parallel", "2",
             "--ctx-size", "4096", "-t", "1", "--alias", self.name, "--drain-timeout", str(DRAIN_SECONDS)],
            stdout=subprocess.DEVNULL, stderr=log)
        wait_for(f"{self.name} to load", lambda: self.process.poll() is not None or "listening on" in open(log.name).read(), 60)
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {open(log.name).read()}")

    def signal(self, number):
        self.process.send_signal(number)

    def wait_exit(self, seconds):
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def client(self):
        return openai.OpenAI(base_url=self.url + "/v1", api_key="none", max_retries=0, timeout=30)


def start_nginx(port, a, b):
    """nginx with the documented configuration, its ports replaced, as an unprivileged process
    (nobody when this runs as root) logging to and keeping its temporary files in a private
    directory."""
    directory = tempfile.mkdtemp(prefix="forge-nginx-")
    site = open(os.path.join(ROOT, "docs", "nginx-forge.conf")).read()
    site = site.replace("127.0.0.1:8081", f"127.0.0.1:{a.port}").replace("127.0.0.1:8082", f"127.0.0.1:{b.port}")
    site = site.replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{port}")
    temp_paths = "".join(f"    {kind}_temp_path {directory}/{kind};\n" for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    with open(os.path.join(directory, "nginx.conf"), "w") as config:
        config.write(
            f"daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log warn;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n    access_log {directory}/access.log;\n{temp_paths}{site}\n}}\n")
    user = {}
    if os.geteuid() == 0:
        shutil.chown(directory, "nobody", "nogroup")
        user = {"user": "nobody", "group": "nogroup", "extra_groups": []}
    command = [NGINX, "-p", directory, "-c", f"{directory}/nginx.conf", "-e", f"{directory}/error.log"]
    subprocess.run(command + ["-t", "-q"], check=True, **user)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **user)
    with socket.socket() as probe:
        wait_for("nginx to listen", lambda: process.poll() is not None or probe.connect_ex(("127.0.0.1", port)) == 0, 10)
    if process.poll() is not None:
        raise RuntimeError("nginx exited: " + open(f"{directory}/error.log").read())
    return process, directory


def chat(client, messages, session=None, **options):
    headers = {"X-Session-Id": session} if session else None
    return client.chat.completions.create(
        model="smollm2", messages=messages, temperature=0, max_tokens=options.pop("max_tokens", 8),
        extra_headers=headers, **options)


class Stream:
    """A streamed chat completion consumed on a thread: who served it, how it ended."""

    def __init__(self, client, session, max_tokens):
        self.started = threading.Event()
        self.done = threading.Event()
        self.model = self.finish_reason = self.usage = self.error = None
        self.thread = threading.Thread(target=self._run, args=(client, session, max_tokens), daemon=True)
        self.thread.start()

    def _run(self, client, session, max_tokens):
        try:
            stream = chat(client, [{"role": "user", "content": "Tell me a long story about a lighthouse."}], session,
                          max_tokens=max_tokens, stream=True, stream_options={"include_usage": True}, logit_bias=NO_END)
            for chunk in stream:
                self.model = chunk.model
                self.started.set()
                if chunk.choices and chunk.choices[0].finish_reason:
                    self.finish_reason = chunk.choices[0].finish_reason
                if chunk.usage:
                    self.usage = chunk.usage
        except Exception as error:  # the check reports what the client saw
            self.error = error
        finally:
            self.started.set()
            self.done.set()


def sessions_served_by(client, replica_name, count):
    """Session ids whose requests nginx sends to `replica_name`."""
    found = []
    for _ in range(64):
        session = str(uuid.uuid4())
        if chat(client, [{"role": "user", "content": "hi"}], session, max_tokens=1).model == replica_name:
            found.append(session)
            if len(found) == count:
                return found
    raise RuntimeError(f"no session id reached {replica_name}")


def check_spread(client):
    sessions = [str(uuid.uuid4()) for _ in range(12)] + [None] * 4
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        served = list(pool.map(lambda s: chat(client, [{"role": "user", "content": "Say hello."}], s).model, sessions))
    counts = {name: served.count(name) for name in sorted(set(served))}
    check("requests spread over both replicas", set(served) == {"replica-a", "replica-b"}, f"{counts}")


def check_affinity(client, replicas):
    """Three turns of three conversations: each stays on one replica, and from the second turn on
    reuses the prefix its replica holds. The same second turn sent to the other replica shows the gain."""
    for conversation in range(3):
        session = str(uuid.uuid4())
        messages = [{"role": "system", "content": f"You are assistant number {conversation} of a test ({session})."}]
        served, cached, prompts = [], [], []
        for turn, question in enumerate(["What is a lighthouse?", "Who keeps it?", "Is it still used?"]):
            messages.append({"role": "user", "content": question})
            reply = chat(client, messages, session, max_tokens=12)
            served.append(reply.model)
            cached.append(reply.usage.prompt_tokens_details.cached_tokens)
            prompts.append(reply.usage.prompt_tokens)
            if turn == 1 and conversation == 0:
                other = next(r for r in replicas if r.name != reply.model)
                cold = chat(other.client(), messages, max_tokens=12).usage.prompt_tokens_details.cached_tokens
                warm = cached[1]
            messages.append({"role": "assistant", "content": reply.choices[0].message.content})
        check(f"conversation {conversation} stays on one replica", len(set(served)) == 1, f"{served}")
        check(f"conversation {conversation} reuses its prefix from turn 2 on",
              all(cached[turn] >= prompts[turn - 1] for turn in (1, 2)),
              f"cached/prompt tokens per turn: {list(zip(cached, prompts))}")
    check("affinity gains the cached prefix", warm > cold,
          f"turn 2 reused {warm} prompt tokens on its replica, {cold} on the other")


def check_drain(client, a, b):
    """SIGTERM to replica-a while it streams: the stream runs to its full length, replica-a answers
    503 with Retry-After (and /health 503, /livez 200) meanwhile, nginx sends new requests of its
    conversations to replica-b, and replica-a exits 0."""
    sessions = sessions_served_by(client, a.name, 4)
    max_tokens = 300
    stream = Stream(client, sessions[0], max_tokens)
    if not stream.started.wait(30) or stream.error:
        check("a stream starts on replica-a", False, f"{stream.error}")
        return
    a.signal(signal.SIGTERM)
    wait_for("replica-a to start draining", lambda: http_get(a.url + "/health")[0] == 503, 5)
    health_status, health_headers = http_get(a.url + "/health")
    check("draining replica: /health 503 with Retry-After, /livez 200",
          health_status == 503 and health_headers.get("Retry-After") is not None and http_get(a.url + "/livez")[0] == 200)
    try:
        chat(a.client(), [{"role": "user", "content": "hi"}])
        check("draining replica refuses a new request with 503 and Retry-After", False, "it answered")
    except openai.APIStatusError as error:
        check("draining replica refuses a new request with 503 and Retry-After",
              error.status_code == 503 and error.response.headers.get("retry-after") is not None, f"{error.status_code}")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        served = list(pool.map(lambda s: chat(client, [{"role": "user", "content": "Say hello."}], s).model, sessions))
    check("nginx sends the draining replica's conversations to the other", served == [b.name] * len(sessions), f"{served}")
    check("the stream was still running meanwhile", not stream.done.is_set())
    stream.done.wait(DRAIN_SECONDS + 10)
    tokens = stream.usage.completion_tokens if stream.usage else None
    check("the draining replica's stream ran to its end", stream.error is None and stream.finish_reason == "length"
          and tokens == max_tokens and stream.model == a.name, f"finish {stream.finish_reason}, {tokens} tokens, {stream.error}")
    check("the drained replica exits 0", a.wait_exit(DRAIN_SECONDS + 10) == 0, f"exit status {a.process.returncode}")


def check_rejoin(client, a):
    """nginx takes a failed replica back once its fail_timeout (10 s) has passed."""
    a.start()

    def served_by_a():
        return chat(client, [{"role": "user", "content": "hi"}], str(uuid.uuid4()), max_tokens=1).model == a.name

    try:
        wait_for("nginx to route to the restarted replica", served_by_a, 30)
        check("a restarted replica gets requests again", True)
    except TimeoutError as error:
        check("a restarted replica gets requests again", False, f"{error}")


def check_failover(client, a, b):
    """SIGKILL to replica-b with two streams and two plain requests on it: nothing hangs, at most
    those four fail (with an error, not a silent truncation), and new requests of its conversations go
    to replica-a."""
    sessions = sessions_served_by(client, b.name, 4)
    streams = [Stream(client, session, 1000) for session in sessions[:2]]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        plain = [pool.submit(chat, client, [{"role": "user", "content": "Tell me a long story."}], session,
                             max_tokens=400, logit_bias=NO_END) for session in sessions[2:]]
        for stream in streams:
            stream.started.wait(30)
        b.process.kill()
        b.process.wait()
        killed = time.monotonic()
        for stream in streams:
            stream.done.wait(30)
        outcomes = []
        for future in plain:
            try:
                outcomes.append(future.result(timeout=60).model)
            except concurrent.futures.TimeoutError:
                outcomes.append("hung")
            except Exception as error:
                outcomes.append(type(error).__name__)
    hung = [s for s in streams if not s.done.is_set()] + [o for o in outcomes if o == "hung"]
    check("nothing hangs when a replica is killed", not hung, f"ended within {time.monotonic() - killed:.1f} s")
    truncated = [s for s in streams if s.error is None and s.finish_reason is None]
    stream_errors = [type(s.error).__name__ for s in streams if s.error]
    check("streams on the killed replica end with an error, not a silent truncation", not truncated, f"{stream_errors}")
    failed = len(stream_errors) + len([o for o in outcomes if o not in (a.name, b.name)])
    check("at most the requests on the killed replica fail", failed <= len(sessions),
          f"{failed} failed; plain requests: {outcomes}")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        served = list(pool.map(lambda s: chat(client, [{"role": "user", "content": "Say hello."}], s).model, sessions))
    check("the killed replica's conversations go to the other", served == [a.name] * len(sessions), f"{served}")


def check_interrupt_twice(a):
    """Ctrl-C twice: the first starts the drain, the second ends the replica (status 130) at once."""
    stream = Stream(a.client(), None, 3000)
    stream.started.wait(30)
    a.signal(signal.SIGINT)
    wait_for("the drain to begin", lambda: http_get(a.url + "/health")[0] == 503, 5)
    interrupted = time.monotonic()
    a.signal(signal.SIGINT)
    status = a.wait_exit(10)
    elapsed = time.monotonic() - interrupted
    stream.done.wait(10)
    check("SIGINT twice exits at once", status == 130 and elapsed < 5 and stream.done.is_set(),
          f"exit status {status} after {elapsed:.1f} s")


def main():
    started = time.monotonic()
    # SIGTERM (a CI timeout) ends the run through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    a, b = Replica("replica-a", free_port()), Replica("replica-b", free_port())
    processes = [a, b]
    nginx = None
    directory = None
    try:
        for replica in processes:
            replica.start()
        port = free_port()
        nginx, directory = start_nginx(port, a, b)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0, timeout=30)
        check_spread(client)
        check_affinity(client, processes)
        check_drain(client, a, b)
        check_rejoin(client, a)
        check_failover(client, a, b)
        check_interrupt_twice(a)
    except Exception as error:
        check("the run completes", False, f"{type(error).__name__}: {error}")
    finally:
        for replica in processes:
            replica.stop()
        if nginx and nginx.poll() is None:
            nginx.terminate()
            nginx.wait(10)
        for path in [work, directory]:
            if path:
                shutil.rmtree(path, ignore_errors=True)
    failed = results.count(False)
    print(f"test-replicas: {time.monotonic() - started:.0f} s")
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
