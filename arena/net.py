"""Whether a server answers at all, asked before a slower client would wait on it."""

from __future__ import annotations

import socket
from urllib.parse import urlparse


def reachable(url: str, timeout: float) -> bool:
    """Whether anything accepts a connection at the URL's host and port."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False
