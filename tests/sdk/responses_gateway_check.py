"""Calls llm-bridge's /v1/responses and /v1/embeddings with the official
openai package and prints what it parsed.

Usage: python responses_gateway_check.py GATEWAY_V1_URL MODEL EMBEDDING_MODEL
The Rust test `sdk_dialects.rs` runs this against a gateway in front of the
mock upstream, scripting the upstream's answers in the order of the calls:
1 text, 2 stream, 3 function call, 4 function output, 5 max_output_tokens,
then the embeddings calls (the mock makes their vectors up from the text).
"""

import base64
import json
import struct
import sys

from openai import OpenAI


def responses(client: OpenAI, model: str, out: dict) -> None:
    text = client.responses.create(
        model=model, instructions="Be brief.", input="Say hello", store=False
    )
    out["text"] = text.output_text
    out["status"] = text.status
    out["usage"] = [text.usage.input_tokens, text.usage.output_tokens, text.usage.total_tokens]
    out["id_prefix"] = text.id[:5]

    events = []
    with client.responses.stream(model=model, input="Count") as stream:
        for event in stream:
            events.append(event.type)
        final = stream.get_final_response()
    out["events"] = events
    out["stream_text"] = final.output_text
    out["stream_usage"] = final.usage.total_tokens

    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    asked = client.responses.create(model=model, input="Weather in Paris?", tools=tools)
    call = next(item for item in asked.output if item.type == "function_call")
    out["call"] = [call.call_id, call.name, json.loads(call.arguments)]
    answered = client.responses.create(
        model=model,
        tools=tools,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "18 C"},
        ],
    )
    out["after_call"] = answered.output_text

    cut = client.responses.create(model=model, input="Go on", max_output_tokens=16)
    out["cut"] = [cut.status, cut.incomplete_details.reason if cut.incomplete_details else None]

    try:
        client.responses.create(model=model, input="x", previous_response_id="resp_1")
        out["stateful"] = None
    except Exception as error:  # noqa: BLE001 - the class is what is checked
        out["stateful"] = [type(error).__name__, getattr(error, "code", None)]


def embeddings(client: OpenAI, model: str, out: dict) -> None:
    one = client.embeddings.create(model=model, input="hello world", encoding_format="float")
    out["one"] = [one.data[0].index, one.data[0].embedding, one.usage.prompt_tokens]
    batch = client.embeddings.create(model=model, input=["alpha", "hello world", "bravo"])
    out["batch"] = [[item.index, item.embedding] for item in batch.data]
    # The SDK asks for base64 itself unless told a format (and decodes it);
    # asked explicitly, it hands the base64 text over as it came.
    raw = client.embeddings.create(
        model=model, input=["bravo"], encoding_format="base64"
    ).data[0].embedding
    if isinstance(raw, str):
        data = base64.b64decode(raw)
        raw = list(struct.unpack(f"<{len(data) // 4}f", data))
    out["base64"] = raw


def main() -> None:
    base_url, model, embedding_model = sys.argv[1], sys.argv[2], sys.argv[3]
    client = OpenAI(base_url=base_url, api_key="sk-client-key", max_retries=0)
    out: dict = {}
    responses(client, model, out)
    embeddings(client, embedding_model, out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
