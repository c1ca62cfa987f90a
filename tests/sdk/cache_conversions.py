"""Parses cache hits with the official openai package, in the other form than
they were stored: a JSON answer replayed as a stream, a streamed answer
replayed as JSON, tool calls included.

Usage: python cache_conversions.py BASE_URL
The Rust test `sdk.rs` scripts the mock upstream and checks the printed JSON.
"""

import json
import sys

from openai import OpenAI

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def collect(stream):
    """What a streaming client assembles: content, tool calls, finish, usage."""
    content, calls, finish, usage = "", {}, None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage.total_tokens
        for choice in chunk.choices:
            delta = choice.delta
            content += delta.content or ""
            for call in delta.tool_calls or []:
                slot = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                if call.function:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    return {
        "content": content,
        "tool_calls": [calls[i] for i in sorted(calls)],
        "finish_reason": finish,
        "usage": usage,
    }


def flatten(completion):
    message = completion.choices[0].message
    return {
        "content": message.content or "",
        "tool_calls": [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in message.tool_calls or []
        ],
        "finish_reason": completion.choices[0].finish_reason,
        "usage": completion.usage.total_tokens if completion.usage else None,
    }


def main() -> None:
    client = OpenAI(base_url=sys.argv[1], api_key="sk-client", max_retries=0)
    ask_a = [{"role": "user", "content": "Weather in Paris?"}]
    ask_b = [{"role": "user", "content": "Weather in Oslo?"}]

    stored_json = client.chat.completions.with_raw_response.create(
        model="gpt-4.1", messages=ask_a, tools=TOOLS
    )
    as_stream = client.chat.completions.with_raw_response.create(
        model="gpt-4.1",
        messages=ask_a,
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    # Without include_usage no chunk may have empty choices: scripts that
    # read chunk.choices[0] must keep working on a hit.
    plain = client.chat.completions.create(
        model="gpt-4.1", messages=ask_a, tools=TOOLS, stream=True
    )
    empty_choices = sum(1 for chunk in plain if not chunk.choices)
    stored_stream = client.chat.completions.with_raw_response.create(
        model="gpt-4.1", messages=ask_b, tools=TOOLS, stream=True
    )
    b_original = collect(stored_stream.parse())
    b_plain = client.chat.completions.create(
        model="gpt-4.1", messages=ask_b, tools=TOOLS, stream=True
    )
    b_empty_choices = sum(1 for chunk in b_plain if not chunk.choices)
    as_json = client.chat.completions.with_raw_response.create(
        model="gpt-4.1", messages=ask_b, tools=TOOLS
    )
    print(
        json.dumps(
            {
                "a_original": flatten(stored_json.parse()),
                "a_replayed_as_stream": collect(as_stream.parse()),
                "a_plain_stream_empty_choices": empty_choices,
                "b_original": b_original,
                "b_replayed_as_json": flatten(as_json.parse()),
                "b_replayed_stream_empty_choices": b_empty_choices,
                "x_cache": [
                    r.headers.get("x-cache")
                    for r in (stored_json, as_stream, stored_stream, as_json)
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
