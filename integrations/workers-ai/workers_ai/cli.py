"""``workers-ai``: serve the local server, or chat, embed and list models from a terminal.

Expected failures (bad credentials, unknown model, no capacity) print one line and exit 1;
usage errors exit 2. No traceback unless something is really broken.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ._catalog import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL
from ._chat_options import ChatOptions
from .client import WorkersAI
from .errors import ConfigurationError, WorkersAIError
from .types import Message


def _connection_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection (default: the environment)")
    group.add_argument("--account-id", help="default: CLOUDFLARE_ACCOUNT_ID")
    group.add_argument("--api-token", help="default: CLOUDFLARE_API_TOKEN")
    group.add_argument("--base-url", help="default: WORKERS_AI_BASE_URL or Cloudflare's API")
    group.add_argument("--gateway-id", help="route through this AI Gateway")
    group.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workers-ai", description="Cloudflare Workers AI from the command line."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    connection = _connection_options()

    serve = commands.add_parser("serve", help="run the local Workers-AI-compatible server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787, help="0 takes a free port")
    serve.add_argument("--token", help="bearer token to require (default: env or random)")
    serve.add_argument("--account-id", help="account id to serve (default: env or 'local')")
    serve.add_argument("--backend", choices=("echo", "llama", "auto"), default="auto")
    serve.add_argument(
        "--paid",
        action="store_true",
        help="serve a Workers Paid account (else models that need Paid answer 403 / 5035)",
    )

    chat = commands.add_parser("chat", parents=[connection], help="ask a text-generation model")
    chat.add_argument("prompt")
    chat.add_argument("--model", default=DEFAULT_CHAT_MODEL)
    chat.add_argument("--system", help="a system message to send first")
    chat.add_argument("--max-tokens", type=int)
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--stream", action="store_true", help="print tokens as they arrive")

    embed = commands.add_parser("embed", parents=[connection], help="embed texts (JSON lines)")
    embed.add_argument("texts", nargs="+")
    embed.add_argument("--model", default=DEFAULT_EMBEDDING_MODEL)

    models = commands.add_parser("models", parents=[connection], help="list catalog models")
    models.add_argument("--task", help='e.g. "Text Generation" or "Text Embeddings"')
    models.add_argument("--search", help="substring of the name or description")
    return parser


def _client(args: argparse.Namespace) -> WorkersAI:
    return WorkersAI(
        account_id=args.account_id,
        api_token=args.api_token,
        base_url=args.base_url,
        gateway_id=args.gateway_id,
        timeout=args.timeout,
    )


def _chat(args: argparse.Namespace) -> None:
    messages: list[Message] = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": args.prompt})
    options: ChatOptions = {"max_tokens": args.max_tokens, "temperature": args.temperature}
    with _client(args) as client:
        if not args.stream:
            print(client.chat(args.model, messages, **options).text)
            return
        for chunk in client.stream_chat(args.model, messages, **options):
            print(chunk.text, end="", flush=True)
        print()


def _embed(args: argparse.Namespace) -> None:
    with _client(args) as client:
        result = client.embed(args.model, args.texts)
    for text, vector in zip(args.texts, result.vectors, strict=True):
        print(json.dumps({"text": text, "dims": result.dims, "embedding": vector}))


def _models(args: argparse.Namespace) -> None:
    with _client(args) as client:
        found = client.models(task=args.task, search=args.search)
    for info in sorted(found, key=lambda m: m.name):
        window = str(info.context_window or info.max_input_tokens or "-")
        print(f"{info.name:<55} {info.task or '-':<22} {window:>7}")


def _serve(args: argparse.Namespace) -> None:
    try:  # the server is a distribution of its own: import on demand
        from workers_ai_local import run_server
        from workers_ai_local.registry import BackendUnavailable
    except ImportError as error:
        missing = "workers-ai-local" if error.name == "workers_ai_local" else error.name
        raise ConfigurationError(
            f"`workers-ai serve` runs the local server, which is not installed ({missing} is "
            "missing): pip install workers-ai-local"
        ) from error
    try:
        run_server(
            host=args.host,
            port=args.port,
            token=args.token,
            account_id=args.account_id,
            backend=args.backend,
            paid_plan=args.paid,
        )
    except BackendUnavailable as error:
        raise ConfigurationError(str(error)) from error


_COMMANDS = {"chat": _chat, "embed": _embed, "models": _models, "serve": _serve}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _COMMANDS[args.command](args)
    except ConfigurationError as error:
        print(f"workers-ai: {error}", file=sys.stderr)
        return 2
    except WorkersAIError as error:
        print(f"workers-ai: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
