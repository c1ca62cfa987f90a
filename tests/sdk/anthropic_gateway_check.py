"""Calls llm-bridge's /v1/messages with the official anthropic package and
prints what it parsed.

Usage: python anthropic_gateway_check.py GATEWAY_ROOT_URL MODEL
The Rust test `sdk_dialects.rs` runs this against a gateway in front of the
mock upstream (scripting the upstream's answers in the order of the calls
below) and checks the printed JSON. Calls that go upstream, in order:
1 text, 3 stream, 4 tool use, 5 tool result, 6 max_tokens, 8 an error;
2 (a repeat: a cache hit) and 7 (count_tokens) may not.
"""

import json
import sys

import anthropic


def main() -> None:
    base_url, model = sys.argv[1], sys.argv[2]
    client = anthropic.Anthropic(base_url=base_url, api_key="sk-client-key", max_retries=0)
    ask = [{"role": "user", "content": "Say hello"}]
    out = {}

    text = client.messages.create(model=model, max_tokens=100, messages=ask)
    out["text"] = text.content[0].text
    out["text_stop"] = text.stop_reason
    out["usage"] = [text.usage.input_tokens, text.usage.output_tokens]
    out["id_prefix"] = text.id[:4]

    raw = client.messages.with_raw_response.create(model=model, max_tokens=100, messages=ask)
    out["repeat_cache"] = raw.headers.get("x-cache")
    out["repeat_text"] = raw.parse().content[0].text

    with client.messages.stream(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "Count"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    out["stream_text"] = "".join(pieces)
    out["stream_final_text"] = final.content[0].text
    out["stream_stop"] = final.stop_reason
    out["stream_output_tokens"] = final.usage.output_tokens

    tools = [
        {
            "name": "get_weather",
            "description": "Weather of a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    weather = [{"role": "user", "content": "Weather in Paris?"}]
    used = client.messages.create(model=model, max_tokens=100, messages=weather, tools=tools)
    call = next(block for block in used.content if block.type == "tool_use")
    out["tool_stop"] = used.stop_reason
    out["tool_call"] = [call.id, call.name, call.input]

    answered = client.messages.create(
        model=model,
        max_tokens=100,
        tools=tools,
        messages=weather
        + [
            {"role": "assistant", "content": used.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "18 C"}
                ],
            },
        ],
    )
    out["after_tool"] = answered.content[0].text

    cut = client.messages.create(
        model=model, max_tokens=2, messages=[{"role": "user", "content": "Go on"}]
    )
    out["cut_stop"] = cut.stop_reason

    counted = client.messages.count_tokens(model=model, messages=ask)
    out["count"] = counted.input_tokens

    try:
        client.messages.create(
            model=model, max_tokens=100, messages=[{"role": "user", "content": "bad"}]
        )
        out["error"] = None
    except anthropic.BadRequestError as error:
        out["error"] = [error.status_code, error.body["error"]["type"], error.body["type"]]

    print(json.dumps(out))


if __name__ == "__main__":
    main()
