"""The official `openai` Python client against a live `forge serve`.

scripts/test-server starts the server (SmolLM2-135M, --parallel 2) and runs this file with
FORGE_SERVER_URL set to its base URL. Plain unittest, so nothing beyond `openai` is needed.
"""

import http.client
import json
import os
import socket
import subprocess
import time
import unittest
import urllib.parse

import openai

BASE_URL = os.environ["FORGE_SERVER_URL"]
API_KEY = os.environ.get("FORGE_API_KEY", "forge-test-key")
GREETING = [{"role": "user", "content": "Name three colours of the rainbow."}]


def client(**options):
    return openai.OpenAI(base_url=BASE_URL + "/v1", api_key=API_KEY, max_retries=0, **options)


def model_id():
    return client().models.list().data[0].id


class ChatCompletions(unittest.TestCase):
    def test_non_streamed_reply_has_text_usage_and_finish_reason(self):
        reply = client().chat.completions.create(model=model_id(), messages=GREETING, max_tokens=24, temperature=0)
        choice = reply.choices[0]
        self.assertEqual(reply.object, "chat.completion")
        self.assertEqual(choice.message.role, "assistant")
        self.assertTrue(choice.message.content.strip())
        self.assertIn(choice.finish_reason, ("stop", "length"))
        self.assertGreater(reply.usage.prompt_tokens, 5)
        self.assertGreater(reply.usage.completion_tokens, 0)
        self.assertEqual(reply.usage.total_tokens, reply.usage.prompt_tokens + reply.usage.completion_tokens)

    def test_length_limit_is_reported(self):
        reply = client().chat.completions.create(model=model_id(), messages=GREETING, max_tokens=3, temperature=0)
        self.assertEqual(reply.choices[0].finish_reason, "length")
        self.assertEqual(reply.usage.completion_tokens, 3)

    def test_streamed_text_equals_non_streamed_text_at_temperature_zero(self):
        whole = client().chat.completions.create(model=model_id(), messages=GREETING, max_tokens=32, temperature=0)
        chunks = list(
            client().chat.completions.create(
                model=model_id(),
                messages=GREETING,
                max_tokens=32,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        self.assertEqual(chunks[0].choices[0].delta.role, "assistant")
        self.assertEqual(len({chunk.id for chunk in chunks}), 1, "one id for the whole stream")
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        self.assertEqual(text, whole.choices[0].message.content)
        finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
        self.assertEqual(finishes, [whole.choices[0].finish_reason])
        usage_chunk = chunks[-1]
        self.assertEqual(usage_chunk.choices, [])
        self.assertEqual(usage_chunk.usage.completion_tokens, whole.usage.completion_tokens)
        self.assertEqual(usage_chunk.usage.prompt_tokens, whole.usage.prompt_tokens)

    def test_same_seed_gives_same_text(self):
        def sample(seed):
            return (
                client()
                .chat.completions.create(
                    model=model_id(), messages=GREETING, max_tokens=24, temperature=1.0, seed=seed
                )
                .choices[0]
                .message.content
            )

        first = sample(1234)
        self.assertEqual(first, sample(1234))
        others = {sample(seed) for seed in (1, 2, 3, 4)}
        self.assertGreater(len(others | {first}), 1, "different seeds should not all give the same text")

    def test_stop_string_ends_the_reply_and_is_not_included(self):
        whole = client().chat.completions.create(model=model_id(), messages=GREETING, max_tokens=32, temperature=0)
        text = whole.choices[0].message.content
        words = text.split()
        self.assertGreaterEqual(len(words), 3, text)
        stop = words[2]
        cut = client().chat.completions.create(
            model=model_id(), messages=GREETING, max_tokens=32, temperature=0, stop=[stop]
        )
        self.assertEqual(cut.choices[0].finish_reason, "stop")
        self.assertEqual(cut.choices[0].message.content, text[: text.index(stop)])

    def test_logprobs_are_returned_for_each_token(self):
        reply = client().chat.completions.create(
            model=model_id(), messages=GREETING, max_tokens=5, temperature=0, logprobs=True, top_logprobs=3
        )
        content = reply.choices[0].logprobs.content
        self.assertEqual(len(content), reply.usage.completion_tokens)
        for entry in content:
            self.assertLessEqual(entry.logprob, 0.0)
            self.assertEqual(len(entry.top_logprobs), 3)
            best = entry.top_logprobs[0]
            # Greedy: the chosen token is the most likely one.
            self.assertEqual(best.token, entry.token)
            self.assertAlmostEqual(best.logprob, entry.logprob, places=4)
            self.assertEqual(
                [alt.logprob for alt in entry.top_logprobs],
                sorted((alt.logprob for alt in entry.top_logprobs), reverse=True),
            )

    def test_system_and_assistant_turns_are_accepted(self):
        messages = [
            {"role": "system", "content": "You answer in one word."},
            {"role": "user", "content": [{"type": "text", "text": "Say hello."}]},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Again."},
        ]
        reply = client().chat.completions.create(model=model_id(), messages=messages, max_tokens=8, temperature=0)
        self.assertTrue(reply.choices[0].message.content)


class Completions(unittest.TestCase):
    def test_text_prompt_non_streamed_and_streamed_agree(self):
        prompt = "The capital of France is"
        whole = client().completions.create(model=model_id(), prompt=prompt, max_tokens=12, temperature=0)
        self.assertEqual(whole.object, "text_completion")
        self.assertTrue(whole.choices[0].text)
        self.assertGreater(whole.usage.prompt_tokens, 3)
        pieces = list(
            client().completions.create(model=model_id(), prompt=prompt, max_tokens=12, temperature=0, stream=True)
        )
        self.assertEqual("".join(piece.choices[0].text for piece in pieces if piece.choices), whole.choices[0].text)

    def test_token_id_prompt_equals_text_prompt(self):
        connection = http.client.HTTPConnection(*server_address())
        connection.request(
            "POST", "/tokenize", json.dumps({"content": "The capital of France is"}), json_headers()
        )
        tokens = json.loads(connection.getresponse().read())["tokens"]
        connection.close()
        by_text = client().completions.create(
            model=model_id(), prompt="The capital of France is", max_tokens=8, temperature=0
        )
        by_ids = client().completions.create(model=model_id(), prompt=tokens, max_tokens=8, temperature=0)
        self.assertEqual(by_ids.choices[0].text, by_text.choices[0].text)


class Errors(unittest.TestCase):
    def test_wrong_api_key_is_rejected(self):
        with self.assertRaises(openai.AuthenticationError):
            openai.OpenAI(base_url=BASE_URL + "/v1", api_key="wrong", max_retries=0).models.list()

    def test_prompt_longer_than_the_context_is_a_clear_error(self):
        with self.assertRaises(openai.BadRequestError) as caught:
            client().completions.create(model=model_id(), prompt="word " * 20000, max_tokens=4)
        error = caught.exception.response.json()["error"]
        self.assertEqual(error["type"], "exceed_context_size_error")
        self.assertEqual(error["n_prompt_tokens"], 20001)
        self.assertGreater(error["n_ctx"], 0)

    def test_empty_messages_are_rejected(self):
        with self.assertRaises(openai.BadRequestError):
            client().chat.completions.create(model=model_id(), messages=[], max_tokens=4)


def server_address():
    parsed = urllib.parse.urlparse(BASE_URL)
    return parsed.hostname, parsed.port


def json_headers():
    return {"Content-Type": "application/json", "Authorization": "Bearer " + API_KEY}


class RawStream(unittest.TestCase):
    def test_curl_reads_server_sent_events_ending_with_done(self):
        body = json.dumps(
            {"model": "any", "messages": GREETING, "max_tokens": 8, "temperature": 0, "stream": True}
        )
        output = subprocess.run(
            [
                "curl", "-sS", "-N", "--max-time", "60",
                "-H", "Content-Type: application/json",
                "-H", "Authorization: Bearer " + API_KEY,
                "-d", body,
                BASE_URL + "/v1/chat/completions",
            ],
            check=True, capture_output=True, text=True,
        ).stdout
        events = [line for line in output.splitlines() if line.strip()]
        self.assertTrue(all(line.startswith("data: ") for line in events), output)
        self.assertEqual(events[-1], "data: [DONE]")
        chunks = [json.loads(line[len("data: "):]) for line in events[:-1]]
        self.assertEqual({chunk["object"] for chunk in chunks}, {"chat.completion.chunk"})
        self.assertEqual(chunks[0]["choices"][0]["delta"].get("role"), "assistant")
        self.assertIsNotNone(chunks[-1]["choices"][0]["finish_reason"])


class Disconnect(unittest.TestCase):
    """With every slot busy on a long generation, dropping the client must free its slot at once."""

    def endless_request(self):
        # Every end-of-generation token banned, so only max_tokens or a disconnect can end it.
        eog = [int(token) for token in os.environ.get("FORGE_EOG_IDS", "").split(",") if token]
        return json.dumps(
            {
                "model": "any",
                "prompt": "Count forever: 1, 2, 3,",
                "max_tokens": 4000,
                "temperature": 0,
                "stream": True,
                "logit_bias": {str(token): -100 for token in eog},
            }
        )

    def test_dropped_streams_free_their_slots(self):
        slots = int(os.environ.get("FORGE_PARALLEL", "2"))
        sockets = []
        for _ in range(slots):
            sock = socket.create_connection(server_address(), timeout=30)
            body = self.endless_request().encode()
            sock.sendall(
                b"POST /v1/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + b"Authorization: Bearer " + API_KEY.encode() + b"\r\n"
                + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            received = b""
            while received.count(b"data: ") < 3:
                chunk = sock.recv(4096)
                self.assertTrue(chunk, "the stream ended before it was dropped")
                received += chunk
            sockets.append(sock)
        for sock in sockets:
            sock.close()
        # 4000 tokens per slot would take minutes; a freed slot answers this in seconds.
        started = time.monotonic()
        reply = client(timeout=60).completions.create(model=model_id(), prompt="Hello", max_tokens=4, temperature=0)
        self.assertTrue(reply.choices)
        self.assertLess(time.monotonic() - started, 30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
