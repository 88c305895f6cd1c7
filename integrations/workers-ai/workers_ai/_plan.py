"""The steps an operation asks its client to take: the whole vocabulary of I/O.

Every operation of the core (``_operations``) is written once, as a *plan*: a generator that
yields a step, is sent what the step produced, and returns the operation's result. Nothing in
a plan touches a socket or a clock's sleep; :class:`~workers_ai.WorkersAI` and
:class:`~workers_ai.AsyncWorkersAI` are the two drivers that perform the steps, one with
blocking calls and threads, one with ``await`` (the shape of h11 and h2: protocol logic with
no I/O, driven by thin sync or async loops). A unit test drives a plan by hand.

Whatever a step raises (a transport failure, an error of a gathered plan) is thrown into the
plan at the step that failed, so retrying, falling back, giving up and naming the error are
the plan's decisions too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import httpx

if TYPE_CHECKING:
    from .types import ChatChunk

_T = TypeVar("_T")


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request to Workers AI, and what reading its answer needs to know."""

    method: str
    url: str | httpx.URL
    json: Any = None
    content: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] | None = None
    model: str = ""
    json_mode: bool = False
    stop: tuple[str, ...] = ()
    """Stop sequences the client applies itself (the model's API has none)."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``request`` and read its whole answer: the plan receives the ``httpx.Response``."""

    request: WireRequest


@dataclass(frozen=True, slots=True)
class Open:
    """Send ``request`` and read only the head of its answer (a stream): the plan receives the
    ``httpx.Response``, its body unread. The driver closes it when the plan opens another, ends,
    or is abandoned."""

    request: WireRequest


class StreamStep(enum.Enum):
    """Steps on the response an :class:`Open` opened."""

    READ = "read"
    """The next piece of the body as it arrives (``bytes``), or None at its end."""
    READ_REST = "read rest"
    """The rest of the body, read into the response (a short error or JSON answer)."""
    DRAIN = "drain"
    """Read what is left after the end of the stream, so the connection goes back to the pool;
    a failure here is the driver's to swallow: the answer is complete."""


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand ``chunks`` (those of one network read) to whoever iterates the stream, one by one;
    the plan resumes when they ask for more."""

    chunks: tuple[ChatChunk, ...]


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``seconds`` (a backoff, a rate limit, a batch poll interval)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Gather:
    """Run ``plans`` side by side, at most ``limit`` at once: the plan receives their results
    in the plans' order. ``on_done(result)`` runs as each one ends (progress); the first error
    raised is thrown into the plan once the plans already running have ended."""

    plans: Sequence[Plan[Any]]
    limit: int
    on_done: Callable[[Any], object] | None = None


Step: TypeAlias = "Send | Open | StreamStep | Emit | Pause | Gather"
Plan: TypeAlias = Generator[Step, Any, _T]
"""An operation: yields steps, is sent each step's outcome, returns the result."""

READ = StreamStep.READ
READ_REST = StreamStep.READ_REST
DRAIN = StreamStep.DRAIN


def unexpected(step: object) -> AssertionError:
    """A step a driver does not perform (a plain call's driver is never asked to stream)."""
    return AssertionError(f"a driver was asked for a step it does not take: {step!r}")


__all__ = [
    "DRAIN",
    "READ",
    "READ_REST",
    "Emit",
    "Gather",
    "Open",
    "Pause",
    "Plan",
    "Send",
    "Step",
    "StreamStep",
    "WireRequest",
    "unexpected",
]
