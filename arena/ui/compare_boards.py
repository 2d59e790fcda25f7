"""Each browser session's board in the Compare view (its panes, conversation and chain), until the session ends."""

from __future__ import annotations

import threading

from arena.ui.board import Board


class Boards:
    def __init__(self, slot_count: int):
        self.slot_count = slot_count
        self._boards: dict[str, Board] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._boards)

    def get(self, session: str) -> Board | None:
        with self._lock:
            return self._boards.get(session)

    def new(self, session: str, save: bool) -> Board:
        """A clean set of panes for this session; whatever the old one still runs is stopped."""
        board = Board(self.slot_count, session=session, save=save)
        with self._lock:
            old = self._boards.get(session)
            self._boards[session] = board
        if old is not None:
            old.stop()
        return board

    def replaced(self, board: Board) -> bool:
        """A newer board took this one's session (a new Run), or the session ended."""
        with self._lock:
            return self._boards.get(board.session) is not board

    def forget(self, session: str) -> None:
        """The session ended (its tab closed): stop what its board runs and let it go."""
        with self._lock:
            board = self._boards.pop(session, None)
        if board is not None:
            board.stop()
