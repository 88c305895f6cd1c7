"""Streams in each wire form, as Cloudflare frames them (wire contract §3)."""

from __future__ import annotations

LEGACY_TEXT = (
    b'data: {"response":"New","p":"abcdef"}\n\n'
    b'data: {"response":"","p":"heartbeat"}\n\n'
    b'data: {"response":" York","p":"xy"}\n\n'
    b"data: \n\n"
    b'data: {"response":"","usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,'
    b'"neurons":3.15}}\n\n'
    b"data: [DONE]\n\n"
)

LEGACY_TOOL = (
    b'data: {"tool_calls":[],"p":"abdefgh"}\n\n'
    b'data: {"response":"","tool_calls":[{"name":"add","arguments":{"a":1,"b":2}}]}\n\n'
    b'data: {"response":"","usage":{"prompt_tokens":7,"completion_tokens":9,"total_tokens":16}}\n\n'
    b"data: [DONE]\n\n"
)

NATIVE_INCREMENTAL_TOOL = (
    b'data: {"tool_calls":[{"id":"call_1","type":"function","index":0,'
    b'"function":{"name":"get_weather"}}]}\n\n'
    b'data: {"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": "}}]}\n\n'
    b'data: {"tool_calls":[{"index":0,"function":{"arguments":"\\"Paris\\"}"}}]}\n\n'
    b'data: {"tool_calls":[{"id":null,"type":null,"index":0,'
    b'"function":{"name":null,"arguments":""}}]}\n\n'
    b'data: {"response":"","usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}\n\n'
    b"data: [DONE]\n\n"
)


def _openai(delta: str, finish: str = "null", usage: tuple[int, int] = (4, 1)) -> bytes:
    p, c = usage
    return (
        b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk",'
        b'"model":"@cf/qwen/qwen3-30b-a3b-fp8",'
        b'"choices":[{"index":0,"delta":'
        + delta.encode()
        + b',"finish_reason":'
        + finish.encode()
        + b'}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}\n\n'
        % (p, c, p + c)
    )


OPENAI_TEXT = (
    _openai('{"role":"assistant","content":"A"}', usage=(4, 1))
    + _openai('{"reasoning_content":"hm"}', usage=(4, 2))
    + _openai('{"content":"B"}', usage=(4, 3))
    + _openai("{}", finish='"stop"', usage=(4, 3))
    + b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],'
    b'"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7,'
    b'"prompt_tokens_details":{"cached_tokens":2}}}\n\n'
    b'data: {"response":"","usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7,'
    b'"prompt_tokens_details":{"cached_tokens":2}}}\n\n'
    b"data: [DONE]\n\n"
)

OPENAI_TOOL = (
    _openai(
        '{"tool_calls":[{"index":0,"id":"c9","type":"function",'
        '"function":{"name":"magic_function","arguments":""}}]}'
    )
    + _openai('{"tool_calls":[{"index":0,"function":{"arguments":"{\\"inp"}}]}')
    + _openai('{"tool_calls":[{"index":0,"function":{"arguments":"ut\\": 3}"}}]}')
    + _openai("{}", finish='"tool_calls"', usage=(4, 5))
    + b"data: [DONE]\n\n"
)

CUT = LEGACY_TEXT.split(b'data: {"response":"","usage"')[0]
MALFORMED = b'data: {"response":"ok"}\n\ndata: {"response": nope\n\ndata: [DONE]\n\n'

ALL_COMPLETE = {
    "legacy_text": LEGACY_TEXT,
    "legacy_tool": LEGACY_TOOL,
    "native_incremental_tool": NATIVE_INCREMENTAL_TOOL,
    "openai_text": OPENAI_TEXT,
    "openai_tool": OPENAI_TOOL,
}
