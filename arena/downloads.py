"""Downloads of hub weights into the Hugging Face cache, with progress, Cancel and resume.

One ``DownloadManager`` per process runs downloads on its own threads (never the web server's event loop); two
users asking for the same model share one download. ``pull`` is the work itself, also run by the CLI.

Only the files the loader needs are fetched (``hub.needed_files``), configs first and weights last. A large file
is written to ``blobs/<etag>.incomplete`` in the cache and continued from its size with a Range request after a
Cancel, a lost connection or a restart; only a complete file of the right size becomes the blob, which
huggingface_hub then links into the snapshot, so ``from_pretrained`` never reads a half-written file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from arena import hub

if TYPE_CHECKING:
    from arena.catalog import ModelEntry

# Files at least this large are fetched resumably; smaller ones go straight through hf_hub_download.
RESUMABLE_BYTES = 1024 * 1024
# A large file is read, written and counted (progress, Cancel) this many bytes at a time.
PIECE_BYTES = 1024 * 1024
# A dropped connection is asked again this many times, this long apart, before the download fails.
RETRIES, RETRY_WAIT_S = 5, 1.0
# Room kept free on the disk besides the download itself.
DISK_MARGIN = 200 * 1024 * 1024
# The files before the weights (configs, tokenizer) are fetched this many at a time: each is mostly a round trip.
CONFIG_WORKERS = 4


class Cancelled(Exception):
    pass


class Download:
    """One entry's download as it goes: bytes, speed, time left, and how it ended."""

    def __init__(self, entry: "ModelEntry"):
        self.entry = entry
        self.name = entry.name
        self.state = "checking"  # checking, downloading, done, failed, cancelled
        self.total_bytes = 0
        self.done_bytes = 0
        self.error = ""
        self.cancel_event = threading.Event()
        self.finished = threading.Event()
        self._samples: deque[tuple[float, int]] = deque(maxlen=64)
        self._lock = threading.Lock()
        self._telling = threading.Lock()  # listeners hear one event at a time, whichever thread fetched the bytes
        self.listeners: list[Callable[["Download"], None]] = []

    @property
    def active(self) -> bool:
        return not self.finished.is_set()

    def advance(self, count: int, resumed: bool = False) -> None:
        """``count`` more bytes are written; ``resumed``: found on disk from an earlier try (not a speed). Raises
        Cancelled once Cancel is pressed, so the download stops at the next piece."""
        with self._lock:
            self.done_bytes += count
            if resumed:
                self._samples.clear()
            self._samples.append((time.monotonic(), self.done_bytes))
        if self.cancel_event.is_set():
            raise Cancelled()
        with self._telling:
            for listener in self.listeners:
                listener(self)

    @property
    def speed(self) -> float:
        """Bytes per second over the last few seconds."""
        with self._lock:
            samples = list(self._samples)
        now = time.monotonic()
        recent = [s for s in samples if now - s[0] <= 5] or samples[-2:]
        if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
            return 0.0
        return (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])

    @property
    def eta_s(self) -> float | None:
        speed = self.speed
        return (self.total_bytes - self.done_bytes) / speed if speed > 0 else None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes else 0.0

    def progress_line(self) -> str:
        if self.state == "checking":
            return "checking the Hub…"
        if self.state == "failed":
            return self.error
        if self.state == "cancelled":
            return f"cancelled at {hub.human_bytes(self.done_bytes)} of {hub.human_bytes(self.total_bytes)}; " \
                   "Download again resumes"
        if self.state == "done":
            return f"downloaded, {hub.human_bytes(self.total_bytes)}"
        line = f"{hub.human_bytes(self.done_bytes)} of {hub.human_bytes(self.total_bytes)}"
        speed, eta = self.speed, self.eta_s
        if speed > 0:
            line += f" · {hub.human_bytes(int(speed))}/s"
        if eta is not None:
            line += f" · {_duration(eta)} left"
        return line

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class DownloadManager:
    """Runs downloads on a small thread pool; one per repository at a time, shared by whoever asks."""

    def __init__(self, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="download")
        self._lock = threading.Lock()
        self._downloads: dict[str, Download] = {}
        self.on_finished: list[Callable[[Download], None]] = []

    def start(self, entry: "ModelEntry") -> Download:
        with self._lock:
            current = self._downloads.get(entry.name)
            if current is not None and current.active:
                return current
            for other in self._downloads.values():  # another entry naming the same repository
                if other.active and other.entry.model == entry.model and other.entry.kind == entry.kind:
                    return other
            download = Download(entry)
            self._downloads[entry.name] = download
        self._pool.submit(self._run, download)
        return download

    def get(self, name: str) -> Download | None:
        with self._lock:
            return self._downloads.get(name)

    def cancel(self, name: str) -> None:
        download = self.get(name)
        if download is not None:
            download.cancel()

    def _run(self, download: Download) -> None:
        try:
            pull(download)
        finally:
            for callback in self.on_finished:
                callback(download)


_manager: DownloadManager | None = None
_manager_lock = threading.Lock()


def manager() -> DownloadManager:
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = DownloadManager()
        return _manager


# --- the work ------------------------------------------------------------------------------------------------


def pull(download: Download) -> None:
    """Fetch what the entry's loader needs; the outcome is in ``download.state`` / ``download.error``."""
    entry = download.entry
    try:
        status = hub.status(entry, fresh=True)
        if status.state == "downloaded":
            download.total_bytes = download.done_bytes = 0
            download.state = "done"
            return
        if status.state != "not-downloaded" or status.plan is None:
            raise hub.HubError(status.sentence, status.state)
        plan = status.plan
        todo = [f for f in plan.files if not hub.cached(plan.repo_id, plan.commit, f.path)]
        download.total_bytes = sum(f.size for f in todo)
        check_disk(download.total_bytes - sum(hub.partial_bytes(plan.repo_id, f) for f in todo), entry.model)
        download.state = "downloading"
        download.advance(0)
        _fetch_all(plan, todo, download)
        hub.forget(entry.model)
        if hub.local_snapshot(entry) is None:
            raise hub.HubError(f"{entry.model}: the download ended but the files the loader needs are not all there")
        download.state = "done"
    except Cancelled:
        download.state = "cancelled"
    except hub.HubError as error:
        download.error, download.state = str(error), "failed"
    except Exception as error:  # noqa: BLE001  (any failure is one sentence for the UI and the CLI)
        download.error, download.state = hub.describe_hub_error(error, entry.model), "failed"
    finally:
        hub.forget(entry.model)
        download.finished.set()
        for listener in download.listeners:
            listener(download)


def check_disk(needed: int, repo_id: str) -> None:
    folder = hub.cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN > free:
        raise hub.HubError(f"not enough disk space for {repo_id}: the download needs {hub.human_bytes(needed)}, "
                           f"{folder} has {hub.human_bytes(free)} free")


def _storage(repo_id: str) -> Path:
    return hub.blobs_dir(repo_id).parent


def _fetch_all(plan: hub.Plan, files: list[hub.RepoFile], download: Download) -> None:
    """The configs CONFIG_WORKERS at a time while the large weight files stream into their blobs; then the weights
    are linked into the snapshot, so that it never shows weights without their configs. Once everything has
    stopped, the first failure is raised."""
    configs = [f for f in files if not hub.is_weights(f.path)]
    weights = [f for f in files if hub.is_weights(f.path)]
    with ThreadPoolExecutor(max_workers=CONFIG_WORKERS, thread_name_prefix="fetch") as pool:
        fetching = [pool.submit(fetch, plan, repo_file, download) for repo_file in configs]
        for repo_file in weights:
            if repo_file.size >= RESUMABLE_BYTES:
                _fetch_blob(plan, repo_file, download)
    for future in fetching:
        future.result()
    for repo_file in weights:
        fetch(plan, repo_file, download)


def fetch(plan: hub.Plan, repo_file: hub.RepoFile, download: Download) -> None:
    from huggingface_hub import hf_hub_download

    if download.cancel_event.is_set():
        raise Cancelled()
    progress = _progress_class(download)
    if repo_file.size >= RESUMABLE_BYTES:
        _fetch_blob(plan, repo_file, download)
    # Small files are fetched here; for a large one the blob is in place and this only links it into the snapshot.
    # The revision's name (not the commit) makes huggingface_hub record refs/main, which later looks-ups read.
    hf_hub_download(plan.repo_id, repo_file.path, revision=plan.revision, cache_dir=hub.cache_dir(),
                    endpoint=hub.endpoint(), tqdm_class=progress)


def _fetch_blob(plan: hub.Plan, repo_file: hub.RepoFile, download: Download) -> None:
    """Write the file's blob, continuing a partial one left by an earlier try."""
    from filelock import FileLock
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(plan.repo_id, repo_file.path, revision=plan.commit, endpoint=hub.endpoint())
    if repo_file.sha256:  # model_info gave the LFS hash (the blob's name) and the size: no HEAD needed
        etag, size, location = repo_file.sha256, repo_file.size, url
    else:
        meta = get_hf_file_metadata(url, timeout=10)
        etag = hub.blob_name((meta.etag or "").strip('"').removeprefix("W/").strip('"'))
        size, location = meta.size, meta.location
    if not etag:
        return  # hf_hub_download fetches it whole
    blobs = _storage(plan.repo_id) / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blob = blobs / etag
    if blob.exists():
        return
    partial = blobs / f"{etag}.incomplete"
    # huggingface_hub's own lock for this blob, so that its downloads and ours never write it at once.
    locks = hub.cache_dir() / ".locks" / _storage(plan.repo_id).name
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{etag}.lock")):
        if blob.exists():
            return
        resumed = partial.exists() and partial.stat().st_size > 0
        with open(partial, "r+b" if partial.exists() else "wb", buffering=PIECE_BYTES) as handle:
            handle.seek(0, os.SEEK_END)
            have = handle.tell()
            if have > size:
                handle.truncate(0)
                handle.seek(0)
                have = 0
            if have:
                download.advance(have, resumed=True)
            if have < size:
                _stream(location, handle, size, download)
        if partial.stat().st_size != size or (resumed and not _sha256_matches(partial, etag)):
            partial.unlink(missing_ok=True)
            raise hub.HubError(f"{repo_file.path} from {plan.repo_id} arrived damaged; Download again")
        os.replace(partial, blob)


def _stream(url: str, handle, size: int, download: Download) -> None:
    """Append the rest of ``url`` to ``handle`` through huggingface_hub's HTTP session (its headers, token,
    proxies), a Range request from what the file holds; a connection dropped mid-file is asked again from there
    (at most RETRIES times). Bytes count as they are written, PIECE_BYTES at a time, so progress and Cancel
    follow within a piece."""
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    for attempt in range(RETRIES + 1):
        have = handle.tell()
        headers = build_hf_headers() | ({"Range": f"bytes={have}-"} if have else {})
        try:
            with get_session().stream("GET", url, headers=headers, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
                                      follow_redirects=True) as response:
                hf_raise_for_status(response)
                if have and response.status_code != 206:  # the server ignored the Range: start over
                    handle.seek(0)
                    handle.truncate()
                    download.advance(-have, resumed=True)
                _write_counted(response.iter_raw(), handle, download)
            if handle.tell() >= size:
                return
        except (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.ConnectError, httpx2.TimeoutException):
            if attempt == RETRIES:
                raise
        if download.cancel_event.wait(RETRY_WAIT_S):
            raise Cancelled()
    raise hub.HubError("the connection to the Hub was lost; Download again resumes where it stopped")


def _write_counted(pieces, handle, download: Download) -> None:
    """Write the pieces as they arrive (the network's own size: asking httpx for larger ones copies each byte
    twice) and count them by PIECE_BYTES, so progress listeners and the Cancel check run a few hundred times for
    a large file rather than once per 64 kB."""
    pending = 0
    try:
        for piece in pieces:
            handle.write(piece)
            pending += len(piece)
            if pending >= PIECE_BYTES:
                counted, pending = pending, 0
                download.advance(counted)
    finally:
        if pending:
            download.advance(pending)


def _sha256_matches(path: Path, etag: str) -> bool:
    """LFS etags are the file's sha256: a file pieced together from several tries is checked against it."""
    if len(etag) != 64 or any(c not in "0123456789abcdef" for c in etag):
        return True
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest() == etag


def _progress_class(download: Download):
    """A tqdm stand-in that huggingface_hub updates with each chunk; it raises Cancelled after Cancel."""

    class Progress:
        def __init__(self, *args, initial: int = 0, **kwargs):
            # A resumed file starts at the bytes already on disk: those count as done.
            if initial:
                download.advance(initial, resumed=True)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            pass

        def update(self, count: int | float | None = 1) -> None:
            download.advance(int(count or 0))

        def close(self) -> None:
            pass

        def set_postfix_str(self, *args, **kwargs) -> None:
            pass

        def refresh(self, *args, **kwargs) -> None:
            pass

    return Progress
