"""Stop sequences applied to text as it arrives: for models whose API has no ``stop`` (the
Responses API of gpt-oss) and for the local server's backends. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first of the ``stop`` strings it contains."""
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(cuts)] if cuts else text


class StopFilter:
    """Holds back text that might be the start of a stop string; cuts before a complete one."""

    __slots__ = ("_pending", "_stops", "stopped")

    def __init__(self, stop: Sequence[str]) -> None:
        self._stops = [s for s in stop if s]
        self._pending = ""
        self.stopped = False

    def push(self, text: str) -> tuple[str, bool]:
        """Text safe to send now, and whether a stop string was reached (nothing after it is
        ever sent: later pushes give empty text)."""
        if self.stopped:
            return "", True
        pending = self._pending + text
        cuts = [i for i in (pending.find(s) for s in self._stops) if i >= 0]
        if cuts:
            self._pending, self.stopped = "", True
            return pending[: min(cuts)], True
        keep = max((_overlap(pending, s) for s in self._stops), default=0)
        self._pending = pending[len(pending) - keep :]
        return pending[: len(pending) - keep], False

    def flush(self) -> str:
        pending, self._pending = self._pending, ""
        return pending


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``stop``."""
    for n in range(min(len(text), len(stop) - 1), 0, -1):
        if stop.startswith(text[-n:]):
            return n
    return 0
