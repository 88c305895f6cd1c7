"""End to end on the local server: a VectorStoreIndex built with WorkersAIEmbedding, a query
engine answering with WorkersAI, and a FunctionAgent that calls a tool."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.callbacks import CallbackManager
from llama_index.core.callbacks.token_counting import TokenCountingHandler

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI

DOCUMENTS = [
    Document(text="Workers AI runs machine learning models on Cloudflare's global network."),
    Document(text="AI Gateway adds caching, rate limiting and analytics to model calls."),
    Document(text="Vectorize is a vector database for storing and querying embeddings."),
]


def square(n: int) -> int:
    """Return n multiplied by itself."""
    return n * n


@pytest.fixture
def index(make_embedding: Callable[..., WorkersAIEmbedding]) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(DOCUMENTS, embed_model=make_embedding())


def test_query_engine_answers_from_the_right_document(
    index: VectorStoreIndex, make_llm: Callable[..., WorkersAI]
) -> None:
    llm = make_llm()
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    counter = TokenCountingHandler()
    llm.callback_manager = CallbackManager([counter])  # the engine gave the LLM its own
    response = engine.query("Which vector database stores embeddings?")
    assert response.source_nodes[0].node.get_content() == DOCUMENTS[2].text
    # The echo backend repeats its prompt, so the answer shows the context the engine sent.
    assert DOCUMENTS[2].text in str(response)
    assert len(counter.llm_token_counts) == 1


async def test_async_query_engine_streams(
    index: VectorStoreIndex, make_llm: Callable[..., WorkersAI]
) -> None:
    engine = index.as_query_engine(llm=make_llm(), similarity_top_k=1, streaming=True)
    response = await engine.aquery("Where do Workers AI models run?")
    text = "".join([token async for token in response.async_response_gen()])
    assert DOCUMENTS[0].text in text


@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
async def test_function_agent_calls_a_tool(make_llm: Callable[..., WorkersAI]) -> None:
    agent = FunctionAgent(tools=[square], llm=make_llm(), system_prompt="Use the tools to answer.")
    handler = agent.run(user_msg="What is the square of 12?")
    events = [event async for event in handler.stream_events()]
    result = await handler
    (call,) = [e for e in events if isinstance(e, ToolCallResult)]
    assert (call.tool_name, call.tool_kwargs, call.tool_output.raw_output) == (
        "square",
        {"n": 12},
        144,
    )
    assert "144" in str(result)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
async def test_agent_over_the_index(
    index: VectorStoreIndex, make_llm: Callable[..., WorkersAI]
) -> None:
    """A query engine as the agent's tool: retrieval, generation and tool calling together."""
    from llama_index.core.tools import QueryEngineTool

    llm = make_llm()
    docs_tool = QueryEngineTool.from_defaults(
        index.as_query_engine(llm=llm, similarity_top_k=1),
        name="search_docs",
        description="Answers questions about Cloudflare products.",
    )
    agent = FunctionAgent(tools=[docs_tool], llm=llm, system_prompt="Use search_docs.")
    handler = agent.run(user_msg="Use search_docs: what does AI Gateway add?")
    events = [event async for event in handler.stream_events()]
    await handler
    (call,) = [e for e in events if isinstance(e, ToolCallResult)]
    assert call.tool_name == "search_docs"
    assert DOCUMENTS[1].text in call.tool_output.content
