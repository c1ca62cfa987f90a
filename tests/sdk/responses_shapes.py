"""Checks llm-bridge's rendered Responses samples against the openai SDK.

Run by hand (not part of the test suite):
    cargo test --lib api::responses -- --ignored   # prints the samples folder
    /work/main/.venv/bin/python tests/sdk/responses_shapes.py DIR

Every `*.json` must validate as `openai.types.responses.Response`. Every
`*.sse` must be named events whose `event:` matches `type`, numbered from
0, each validating as a `ResponseStreamEvent`, and the SDK's own stream
accumulator (what `client.responses.stream()` runs) must take them all;
a stream ending in `response.completed` must give its final response.
"""

import json
import pathlib
import sys

import pydantic
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

EVENT = pydantic.TypeAdapter(ResponseStreamEvent)


def events_of(text):
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:"):].lstrip(" "))
        yield name, json.loads("\n".join(data))


def check_stream(path):
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    last = None
    for number, (name, data) in enumerate(events_of(path.read_text())):
        assert name == data["type"], f"event {name} carries type {data['type']}"
        assert data["sequence_number"] == number, f"{name}: sequence_number {data['sequence_number']} != {number}"
        event = EVENT.validate_python(data)
        if event.type != "error":
            state.handle_event(event)
        last = event
    if last is not None and last.type == "response.completed":
        final = state._completed_response
        assert final is not None and final.id == last.response.id
    return f"{number + 1} events, last {last.type}"


def main(folder):
    failures = 0
    for path in sorted(pathlib.Path(folder).iterdir()):
        try:
            if path.suffix == ".json":
                response = Response.model_validate(json.loads(path.read_text()))
                note = f"Response {response.status}, {len(response.output)} items"
            elif path.suffix == ".sse":
                note = check_stream(path)
            else:
                continue
            print(f"ok   {path.name}: {note}")
        except Exception as error:  # report every sample, then fail
            failures += 1
            print(f"FAIL {path.name}: " + "\n".join(str(error).splitlines()[:12]))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1])
