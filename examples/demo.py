"""The main job in one run: LangChain and LlamaIndex on Workers AI, with usage totals.

Without Cloudflare credentials it starts the local server (the real SmolLM2 model when the
``llama`` backend is installed, else the echo backend) on a free port and stops it at the end.
With CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set it runs against Cloudflare instead.

    make demo            # or: .venv/bin/python examples/demo.py
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

CHAT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"
README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass
class Totals:
    """Tokens reported by the server, summed over the whole demo."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, prompt: int, completion: int) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion


@contextmanager
def workers_ai_endpoint() -> Iterator[str]:
    """Cloudflare when credentials are set; otherwise a local server for the demo's lifetime."""
    if os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"):
        yield "Cloudflare Workers AI (your account)"
        return
    from workers_ai_local import LocalServer, make_backend

    with LocalServer(port=0, account_id="local", backend=make_backend("auto")) as server:
        os.environ.update(
            WORKERS_AI_BASE_URL=server.base_url,
            CLOUDFLARE_ACCOUNT_ID=server.account_id,
            CLOUDFLARE_API_TOKEN=server.token,
        )
        yield f"the local server at {server.base_url} (backend: {server.backend.name})"


def heading(title: str) -> None:
    print(f"\n== {title} ==")


def langchain_part(totals: Totals) -> None:
    from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool

    from langchain_workers_ai import ChatWorkersAI

    llm = ChatWorkersAI(model=CHAT_MODEL, max_tokens=60, temperature=0.3)

    heading("LangChain: a prompt | model chain, streamed")
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a concise assistant."), ("human", "{question}")]
    )
    answer = AIMessageChunk(content="")
    for chunk in (prompt | llm).stream({"question": "What is a good name for a cat?"}):
        assert isinstance(chunk, AIMessageChunk)
        print(chunk.content, end="", flush=True)
        answer += chunk
    print()
    assert answer.usage_metadata is not None  # reported once, on the last chunk
    usage = answer.usage_metadata
    print(f"usage: {usage['input_tokens']} in, {usage['output_tokens']} out")
    totals.add(usage["input_tokens"], usage["output_tokens"])

    heading("LangChain: a tool-call round trip")

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return f"It is 21 degrees and sunny in {city}."

    question = HumanMessage("What is the weather in Lisbon?")
    call_message = llm.bind_tools([get_weather], tool_choice="get_weather").invoke([question])
    for call in call_message.tool_calls:
        print(f"model called {call['name']}({call['args']})")
    results = [
        ToolMessage(str(get_weather.invoke(call["args"])), tool_call_id=call["id"])
        for call in call_message.tool_calls
    ]
    final = llm.invoke([question, call_message, *results])
    print(f"final answer: {final.content}")
    for message in (call_message, final):
        if message.usage_metadata:
            totals.add(
                message.usage_metadata["input_tokens"], message.usage_metadata["output_tokens"]
            )

    heading("LangChain: structured output (JSON mode with the schema)")

    class Pet(BaseModel):
        """A pet."""

        name: str = Field(description="the pet's name")
        species: str = Field(description="cat, dog, ...")
        age: int = Field(description="age in years")

    structured = llm.with_structured_output(Pet, include_raw=True).invoke(
        "Describe a pet: a three year old cat called Miso."
    )
    print(repr(structured["parsed"]))
    raw = structured["raw"]
    if raw.usage_metadata:
        totals.add(raw.usage_metadata["input_tokens"], raw.usage_metadata["output_tokens"])


def readme_documents() -> list[tuple[str, str]]:
    """The project's own README, one document per section."""
    text = README.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return [(part.splitlines()[0], "## " + part) for part in parts if part.strip()]


def llama_index_part(totals: Totals) -> None:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.callbacks import CallbackManager, TokenCountingHandler

    from llama_index.embeddings.workers_ai import WorkersAIEmbedding
    from llama_index.llms.workers_ai import WorkersAI

    counter = TokenCountingHandler()
    Settings.callback_manager = CallbackManager([counter])
    Settings.llm = WorkersAI(model=CHAT_MODEL, max_tokens=80, temperature=0.2)
    # Small batches: on the local SmolLM2 server one request of every README chunk could
    # outlast the client's 60 s timeout (the local embedder reads one text after another).
    Settings.embed_model = WorkersAIEmbedding(model_name=EMBEDDING_MODEL, embed_batch_size=8)

    heading("LlamaIndex: RAG over this project's README")
    documents = [
        Document(text=body, metadata={"section": title}) for title, body in readme_documents()
    ]
    index = VectorStoreIndex.from_documents(documents)
    question = "Which exception is raised when the daily quota is used up?"
    response = index.as_query_engine(similarity_top_k=2).query(question)
    print(f"Q: {question}")
    print(f"A: {str(response).strip()}")
    for source in response.source_nodes:
        print(f"   source: README section '{source.node.metadata['section']}'")
    totals.add(counter.prompt_llm_token_count, counter.completion_llm_token_count)


def main() -> int:
    totals = Totals()
    with workers_ai_endpoint() as where:
        print(f"Running against {where}.")
        langchain_part(totals)
        llama_index_part(totals)
    heading("Usage totals (as reported by the server)")
    print(
        f"{totals.prompt_tokens} prompt + {totals.completion_tokens} completion = "
        f"{totals.prompt_tokens + totals.completion_tokens} tokens"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
