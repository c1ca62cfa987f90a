"""Drives the mock upstream directly with the providers' official SDKs
(anthropic, google-genai), so the mock's Anthropic and Gemini wires are
checked against what those SDKs parse, and prints what they saw.

Usage: python mock_sdk_check.py ANTHROPIC_ROOT GEMINI_ROOT
The Rust test `mock_sdk.rs` queues the mock's answers in the order of the
calls below: 1 text, 2 stream, 3 tool use, 4 thinking, 5 count_tokens,
6 a 429, 7 generate_content, 8 its stream, 9 a function call, 10 a 400.
"""

import json
import sys

import anthropic
from google import genai
from google.genai import errors, types


def check_anthropic(root: str, out: dict) -> None:
    client = anthropic.Anthropic(base_url=root, api_key="sk-ant-mock", max_retries=0)
    ask = [{"role": "user", "content": "hi"}]
    model = "claude-sonnet-4-5"
    text = client.messages.create(model=model, max_tokens=50, messages=ask)
    out["a_text"] = [text.content[0].text, text.stop_reason, text.usage.input_tokens]
    with client.messages.stream(model=model, max_tokens=50, messages=ask) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    out["a_stream"] = ["".join(pieces), final.content[0].text, final.usage.output_tokens]
    tool = client.messages.create(model=model, max_tokens=50, messages=ask)
    block = next(b for b in tool.content if b.type == "tool_use")
    out["a_tool"] = [tool.stop_reason, block.id, block.name, block.input]
    thought = client.messages.create(model=model, max_tokens=50, messages=ask)
    thinking = thought.content[0]
    out["a_thinking"] = [thinking.type, thinking.thinking, thinking.signature]
    out["a_count"] = client.messages.count_tokens(model=model, messages=ask).input_tokens
    try:
        client.messages.create(model=model, max_tokens=50, messages=ask)
        out["a_error"] = None
    except anthropic.RateLimitError as error:
        out["a_error"] = [error.status_code, error.body["error"]["type"]]


def check_gemini(root: str, out: dict) -> None:
    client = genai.Client(
        api_key="gm-mock", http_options=types.HttpOptions(base_url=root, api_version="v1beta")
    )
    model = "gemini-2.5-flash"
    text = client.models.generate_content(model=model, contents="hi")
    out["g_text"] = [text.text, text.usage_metadata.prompt_token_count]
    pieces = [c.text for c in client.models.generate_content_stream(model=model, contents="hi")]
    out["g_stream"] = "".join(pieces)
    call = client.models.generate_content(model=model, contents="weather?")
    out["g_call"] = [call.function_calls[0].name, call.function_calls[0].args]
    try:
        client.models.generate_content(model=model, contents="bad")
        out["g_error"] = None
    except errors.APIError as error:
        out["g_error"] = [error.code, error.message]


def main() -> None:
    out: dict = {}
    check_anthropic(sys.argv[1], out)
    check_gemini(sys.argv[2], out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
