"""Calls llm-bridge with the official openai package and prints what it parsed.

Usage: python openai_sdk_check.py BASE_URL
The Rust test `sdk.rs` runs this against a gateway in front of the mock
upstream and checks the printed JSON.
"""

import json
import sys

from openai import OpenAI


def main() -> None:
    client = OpenAI(base_url=sys.argv[1], api_key="sk-client-key", max_retries=0)
    messages = [{"role": "user", "content": "Say hello"}]

    completion = client.chat.completions.create(
        model="deepseek/deepseek-chat", messages=messages, temperature=0.2
    )
    raw = client.chat.completions.with_raw_response.create(model="gpt-4.1", messages=messages)

    pieces = []
    finish = None
    stream = client.chat.completions.create(model="qwen-plus", messages=messages, stream=True)
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason

    models = [m.id for m in client.models.list()]
    print(
        json.dumps(
            {
                "content": completion.choices[0].message.content,
                "model": completion.model,
                "usage_total": completion.usage.total_tokens,
                "raw_provider": raw.headers.get("x-llm-bridge-provider"),
                "stream_content": "".join(pieces),
                "stream_finish": finish,
                "models": models,
            }
        )
    )


if __name__ == "__main__":
    main()
