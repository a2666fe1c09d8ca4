"""Tools and structured output through the official `openai` client against a live `forge serve`.

scripts/test-server starts the server with Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, --parallel 2)
and runs this file with FORGE_SERVER_URL set. Replies are checked with `jsonschema`.
"""

import json
import os
import unittest
from concurrent.futures import ThreadPoolExecutor
from typing import List, Literal

import jsonschema
import openai
import pydantic

BASE_URL = os.environ["FORGE_SERVER_URL"]
API_KEY = os.environ.get("FORGE_API_KEY", "forge-test-key")
MODEL = "qwen"


def client():
    return openai.OpenAI(base_url=BASE_URL + "/v1", api_key=API_KEY, max_retries=0, timeout=120)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time in a time zone",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string", "description": "IANA time zone, e.g. Europe/Paris"}},
            "required": ["zone"],
            "additionalProperties": False,
        },
    },
}
TOOLS = {tool["function"]["name"]: tool for tool in (WEATHER, TIME)}
ASK_WEATHER = [{"role": "user", "content": "What is the weather like in Paris right now?"}]


def check_call(test, name, arguments):
    test.assertIn(name, TOOLS)
    jsonschema.validate(json.loads(arguments), TOOLS[name]["function"]["parameters"])


class ToolCalls(unittest.TestCase):
    def test_required_call_is_parsed_and_valid_streamed_or_not(self):
        reply = client().chat.completions.create(
            model=MODEL, messages=ASK_WEATHER, tools=[WEATHER, TIME], tool_choice="required", temperature=0, max_tokens=96
        )
        choice = reply.choices[0]
        self.assertEqual(choice.finish_reason, "tool_calls")
        self.assertFalse(choice.message.content)
        self.assertGreaterEqual(len(choice.message.tool_calls), 1)
        call = choice.message.tool_calls[0]
        self.assertTrue(call.id.startswith("call_"))
        self.assertEqual(call.type, "function")
        for each in choice.message.tool_calls:
            check_call(self, each.function.name, each.function.arguments)

        stream = client().chat.completions.create(
            model=MODEL, messages=ASK_WEATHER, tools=[WEATHER, TIME], tool_choice="required", temperature=0, max_tokens=96,
            stream=True,
        )
        calls = {}
        finish = None
        for chunk in stream:
            delta = chunk.choices[0].delta
            self.assertFalse(delta.content, "a streamed call must not arrive as content")
            for piece in delta.tool_calls or []:
                entry = calls.setdefault(piece.index, {"id": None, "name": None, "arguments": ""})
                if piece.id:
                    entry["id"], entry["name"] = piece.id, piece.function.name
                entry["arguments"] += piece.function.arguments or ""
            finish = chunk.choices[0].finish_reason or finish
        self.assertEqual(finish, "tool_calls")
        streamed = [calls[index] for index in sorted(calls)]
        self.assertEqual(
            [(entry["name"], json.loads(entry["arguments"])) for entry in streamed],
            [(each.function.name, json.loads(each.function.arguments)) for each in choice.message.tool_calls],
        )
        self.assertTrue(all(entry["id"].startswith("call_") for entry in streamed))

    def test_named_function_is_the_one_called(self):
        for seed in (1, 2):
            reply = client().chat.completions.create(
                model=MODEL, messages=ASK_WEATHER, tools=[WEATHER, TIME], temperature=0.8, seed=seed, max_tokens=96,
                tool_choice={"type": "function", "function": {"name": "get_time"}},
            )
            calls = reply.choices[0].message.tool_calls
            self.assertEqual({call.function.name for call in calls}, {"get_time"})
            for call in calls:
                check_call(self, call.function.name, call.function.arguments)

    def test_auto_call_is_parsed_never_left_in_content(self):
        reply = client().chat.completions.create(
            model=MODEL, messages=ASK_WEATHER, tools=[WEATHER], temperature=0, max_tokens=96
        )
        message = reply.choices[0].message
        self.assertNotIn("<tool_call>", message.content or "")
        self.assertTrue(message.tool_calls, f"Qwen calls the tool for this question; got {message.content!r}")
        self.assertEqual(reply.choices[0].finish_reason, "tool_calls")
        for call in message.tool_calls:
            check_call(self, call.function.name, call.function.arguments)

    def test_call_result_answer_round_trip(self):
        messages = list(ASK_WEATHER)
        first = client().chat.completions.create(
            model=MODEL, messages=messages, tools=[WEATHER], tool_choice="required", temperature=0, max_tokens=96
        )
        call = first.choices[0].message.tool_calls[0]
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temperature": 18, "unit": "celsius", "sky": "sunny"})}
        )
        # Right after the result this 0.5B model repeats its call; asked again, it answers from the result.
        messages.append({"role": "user", "content": "Thanks. So how is the weather in Paris? Answer in one sentence."})
        answer = client().chat.completions.create(
            model=MODEL, messages=messages, tools=[WEATHER], temperature=0, max_tokens=64
        )
        choice = answer.choices[0]
        self.assertEqual(choice.finish_reason, "stop", choice.message)
        self.assertFalse(choice.message.tool_calls)
        self.assertIn("18", choice.message.content)


class Weather(pydantic.BaseModel):
    city: str
    temperature_celsius: int
    conditions: Literal["sunny", "cloudy", "rainy", "snowy"]
    warnings: List[str]


SCHEMAS = {
    "flat object with optional key": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 40},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "email": {"type": "string", "maxLength": 60},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    "enum": {
        "type": "object",
        "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}},
        "required": ["sentiment"],
    },
    "bounded array of integers": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 100},
        "minItems": 3,
        "maxItems": 5,
    },
    "$defs and $ref": {
        "$defs": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "integer", "minimum": -99, "maximum": 99}, "y": {"type": "integer", "minimum": -99, "maximum": 99}},
                "required": ["x", "y"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "properties": {"start": {"$ref": "#/$defs/point"}, "end": {"$ref": "#/$defs/point"}},
        "required": ["start", "end"],
    },
    "anyOf": {
        "type": "object",
        "properties": {"answer": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 1000}, {"type": "string", "maxLength": 20}]}},
        "required": ["answer"],
    },
    "nullable type list": {
        "type": "object",
        "properties": {"nickname": {"type": ["string", "null"], "maxLength": 20}, "verified": {"type": "boolean"}},
        "required": ["nickname", "verified"],
    },
    "pattern": {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$"}},
        "required": ["code"],
    },
    "const and oneOf": {
        "oneOf": [
            {
                "type": "object",
                "properties": {"shape": {"const": "circle"}, "radius": {"type": "integer", "minimum": 1, "maximum": 50}},
                "required": ["shape", "radius"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"shape": {"const": "square"}, "side": {"type": "integer", "minimum": 1, "maximum": 50}},
                "required": ["shape", "side"],
                "additionalProperties": False,
            },
        ]
    },
    "array of objects": {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "maxLength": 30}, "quantity": {"type": "integer", "minimum": 1, "maximum": 9}},
                    "required": ["name", "quantity"],
                    "additionalProperties": False,
                },
                "minItems": 1,
                "maxItems": 3,
            }
        },
        "required": ["items"],
    },
    "string lengths": {
        "type": "object",
        "properties": {"tag": {"type": "string", "minLength": 3, "maxLength": 8}, "score": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["tag", "score"],
    },
}


class StructuredOutput(unittest.TestCase):
    def test_parse_with_a_pydantic_model(self):
        reply = client().chat.completions.parse(
            model=MODEL,
            messages=[{"role": "user", "content": "Report the weather in Oslo as JSON."}],
            response_format=Weather,
            temperature=0,
            max_tokens=128,
        )
        parsed = reply.choices[0].message.parsed
        self.assertIsInstance(parsed, Weather)
        self.assertTrue(parsed.city)

    def test_json_object_is_any_object(self):
        reply = client().chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Give me a JSON object describing a cat."}],
            response_format={"type": "json_object"},
            temperature=0,
            max_tokens=128,
        )
        self.assertEqual(reply.choices[0].finish_reason, "stop")
        self.assertIsInstance(json.loads(reply.choices[0].message.content), dict)

    def test_schemas_of_every_shape_hold_at_temperature_0_8(self):
        def ask(case):
            title, seed = case
            schema = SCHEMAS[title]
            reply = client().chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": f"Reply with JSON for this schema ({title}):\n{json.dumps(schema)}"}],
                response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}},
                temperature=0.8,
                seed=seed,
                max_tokens=160,
            )
            return title, seed, reply.choices[0]

        cases = [(title, seed) for title in SCHEMAS for seed in (1, 2, 3)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            for title, seed, choice in pool.map(ask, cases):
                with self.subTest(schema=title, seed=seed):
                    self.assertEqual(choice.finish_reason, "stop", choice.message.content)
                    jsonschema.validate(json.loads(choice.message.content), SCHEMAS[title])

    def test_streamed_schema_reply_and_completions_endpoint(self):
        schema = SCHEMAS["flat object with optional key"]
        stream = client().chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Describe a person as JSON."}],
            response_format={"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": schema}},
            temperature=0.8, seed=5, max_tokens=96, stream=True,
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        jsonschema.validate(json.loads(text), schema)
        completion = client().completions.create(
            model=MODEL, prompt="A person, as JSON:", max_tokens=96, temperature=0.8, seed=5,
            extra_body={"json_schema": schema},
        )
        jsonschema.validate(json.loads(completion.choices[0].text), schema)


class Refusals(unittest.TestCase):
    def assert_refused(self, naming, **request):
        with self.assertRaises(openai.BadRequestError) as caught:
            client().chat.completions.create(model=MODEL, max_tokens=8, **request)
        error = caught.exception.response.json()["error"]
        self.assertEqual(error["type"], "invalid_request_error")
        self.assertIn(naming, error["message"])

    def test_bad_input_is_a_400_naming_the_reason_and_the_server_stays_up(self):
        self.assert_refused(
            "messages[0].content[1].type",
            messages=[{"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]}],
        )
        self.assert_refused(
            "get_stock_price", messages=ASK_WEATHER, tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_stock_price"}},
        )
        self.assert_refused(
            "response_format.json_schema.schema", messages=ASK_WEATHER,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {
                "type": "object", "properties": {"code": {"type": "string", "pattern": "([A-Z"}}}}},
        )
        self.assert_refused("grammar", messages=ASK_WEATHER, extra_body={"grammar": "root ::= undefined-rule"})
        reply = client().chat.completions.create(model=MODEL, messages=ASK_WEATHER, max_tokens=4, temperature=0)
        self.assertTrue(reply.choices[0].message.content)


if __name__ == "__main__":
    unittest.main(verbosity=2)
