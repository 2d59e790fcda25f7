"""Pictures in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…), content-addressed as in the local folder:
``PREFIX/images/ab/<sha>.png`` and ``PREFIX/thumbs/ab/<sha>.webp``.

Browsers get pictures from the app itself, never from the bucket: ``path(sha)`` downloads an object once into a
read-through cache folder under the data folder (atomically, least recently used files dropped beyond a size) and
returns that file. So Gradio's file route serves it under the same rules as the local folder (the login, pictures
only and nothing else, 403 for any other file), the bucket needs no public or browser-reachable endpoint, no CORS
set-up, and no signed URL (a bearer token to the object) ends up in pages, browser history or proxy logs.

Settings come from the environment only (``S3Settings.from_env``); credentials by boto3's own chain
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE, an instance role…). boto3 is imported
here, and this module only when storage is ``s3``. Every failure becomes ``StorageError``: one sentence naming
the bucket, never a credential. Short timeouts and boto3's own retries: an unreachable bucket fails in seconds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from arena import api_keys
from arena.errors import StorageError, error_chain

CACHE_FOLDER = "picture-cache"
DEFAULT_CACHE_BYTES = 1024 * 1024 * 1024
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 20
ATTEMPTS = 3
# The check at start is one small request: a server that accepts and then says nothing is given seconds, not the
# minute a picture's upload may need (a start waited 68 s on one, and a CLI command twice that).
CHECK_READ_TIMEOUT_S = 5
CHECK_ATTEMPTS = 1
PARTIAL_PREFIX = ".partial-"
log = logging.getLogger(__name__)
_SHA = re.compile(r"[0-9a-f]{64}")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class BucketUnreachable(StorageError):
    """The server did not answer (down, wrong address, timed out): the app goes on and tries again later."""


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    prefix: str = ""
    path_style: bool = False
    cache_bytes: int = DEFAULT_CACHE_BYTES

    @classmethod
    def from_env(cls, environ=os.environ) -> "S3Settings":
        bucket = (environ.get("ARENA_S3_BUCKET") or "").strip()
        if not bucket:
            raise StorageError("ARENA_STORAGE=s3 needs the bucket's name in ARENA_S3_BUCKET")
        endpoint = (environ.get("ARENA_S3_ENDPOINT_URL") or "").strip() or None
        if endpoint and (urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).hostname):
            shown = urlsplit(endpoint)._replace(netloc=urlsplit(endpoint).netloc.rpartition("@")[2]).geturl()
            raise StorageError(f"ARENA_S3_ENDPOINT_URL must be a URL such as http://HOST:PORT or https://HOST, "
                               f"not {shown[:80]!r}")
        style = (environ.get("ARENA_S3_PATH_STYLE") or "").strip().lower()
        if style and style not in _TRUE | _FALSE:
            raise StorageError(f"ARENA_S3_PATH_STYLE must be 1 or 0, not {style!r}")
        cache_mb = (environ.get("ARENA_S3_CACHE_MB") or "").strip()
        try:
            cache_bytes = int(float(cache_mb) * 1024 * 1024) if cache_mb else DEFAULT_CACHE_BYTES
        except ValueError:
            raise StorageError(f"ARENA_S3_CACHE_MB must be a number of megabytes, not {cache_mb!r}") from None
        return cls(
            bucket=bucket, endpoint_url=endpoint,
            region=(environ.get("ARENA_S3_REGION") or environ.get("AWS_REGION") or "").strip() or None,
            prefix=(environ.get("ARENA_S3_PREFIX") or "").strip().strip("/"),
            # Another server than AWS (MinIO, Ceph, moto) rarely has a DNS name per bucket: path-style there.
            path_style=style in _TRUE if style else endpoint is not None,
            cache_bytes=max(0, cache_bytes),
        )

    @property
    def where(self) -> str:
        """The bucket as messages name it: its name and the server's host (never a user or password)."""
        if not self.endpoint_url:
            return f"the picture bucket {self.bucket!r}"
        parts = urlsplit(self.endpoint_url)
        host = parts.hostname or self.endpoint_url
        return f"the picture bucket {self.bucket!r} at {host}{f':{parts.port}' if parts.port else ''}"


class Bucket:
    """The bucket's boto3 clients (thread-safe), shared by the images and the thumbnails: one for pictures, one
    quick to give up for the check at start."""

    def __init__(self, settings: S3Settings):
        import boto3
        from botocore.config import Config

        # botocore's debug log shows the access key's id in each request's signature: logs are scrubbed.
        api_keys.guard_logs()
        logging.getLogger("botocore.credentials").setLevel(logging.WARNING)  # "Found credentials in …" each start
        self.settings = settings
        self.name = settings.bucket
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
            retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
            s3={"addressing_style": "path" if settings.path_style else "auto"},
            # Checksums only where S3 requires them: several S3-compatible servers reject the newer trailers.
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        )
        session = boto3.session.Session()
        region = settings.region or "us-east-1"
        self.client = session.client("s3", endpoint_url=settings.endpoint_url, region_name=region, config=config)
        quick = Config(read_timeout=CHECK_READ_TIMEOUT_S,
                       retries={"total_max_attempts": CHECK_ATTEMPTS, "mode": "standard"})
        self.check_client = session.client("s3", endpoint_url=settings.endpoint_url, region_name=region,
                                           config=config.merge(quick))

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.settings.prefix, *parts) if p)

    def check(self) -> None:
        """Raise StorageError if the bucket is missing or refuses these credentials (unreachable: also)."""
        self.call("open", lambda: self.check_client.head_bucket(Bucket=self.name))

    def call(self, doing: str, action):
        """``action()``, any failure said as one sentence that names the bucket and no credential."""
        try:
            return action()
        except (StorageError, FileNotFoundError):
            raise
        except Exception as error:
            message, reached = self.describe(doing, error)
            raise (StorageError if reached else BucketUnreachable)(message) from None

    def describe(self, doing: str, error: Exception) -> tuple[str, bool]:
        """One sentence for ``error``, and whether the server was reached at all."""
        from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

        where = self.settings.where
        if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
            return (f"could not {doing} {where}: no S3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "or AWS_SHARED_CREDENTIALS_FILE)"), True
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code") or "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchBucket",) or (doing == "open" and status == 404):
                return f"{where} does not exist (create it, or set ARENA_S3_BUCKET to one that does)", True
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "AllAccessDisabled",
                        "InvalidToken", "ExpiredToken") or status in (401, 403):
                return (f"could not {doing} {where}: access refused ({code or f'HTTP {status}'}), "
                        "check the credentials"), True
            return f"could not {doing} {where}: the server answered {code or 'an error'} (HTTP {status})", True
        names = [type(e).__name__ for e in error_chain(error)]
        tries = CHECK_ATTEMPTS if doing == "open" else ATTEMPTS
        after = f" (still after {tries} tries)" if tries > 1 else ""
        if any("Timeout" in n for n in names):
            return f"could not {doing} {where}: timed out{after}", False
        if any(w in n for n in names for w in ("Connect", "Connection", "Endpoint")):
            return f"could not {doing} {where}: the server cannot be reached{after}", False
        return f"could not {doing} {where}: {names[0]}", True


def _missing(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return False
    code = str(error.response.get("Error", {}).get("Code") or "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("NoSuchKey", "404", "NotFound") or (status == 404 and code != "NoSuchBucket")


class PictureCache:
    """Files downloaded from the bucket, kept under ``root`` up to ``max_bytes`` (least recently used go first).

    Each file is written under a temporary name and renamed into place, so a file under its final name is whole.
    A file read again gets a fresh modification time: the trim keeps what pages show."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._total: int | None = None
        root.mkdir(parents=True, exist_ok=True)

    def hit(self, path: Path) -> bool:
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def add(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=path.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        with self._lock:
            if self._total is None:
                self._total = self._measure()
            else:
                self._total += len(data)
            if self._total > self.max_bytes:
                self._trim(keep=path)

    def drop(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def _files(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self.root.glob("*/??/*"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found.append((stat.st_mtime, stat.st_size, path))
        return found

    def _measure(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _trim(self, keep: Path) -> None:
        """Down to 80% of the limit, oldest first (never the file just added)."""
        files = sorted(self._files())
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= self.max_bytes * 0.8:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size
        self._total = total


class ObjectBlobs:
    """The ``Blobs`` interface (put/read/exists/delete/delete_if_older/all/remove_partials/path) on a bucket."""

    def __init__(self, bucket: Bucket, kind: str, suffix: str, cache: PictureCache):
        self.bucket = bucket
        self.kind = kind
        self.suffix = suffix
        self.cache = cache

    def key(self, sha: str) -> str:
        _check(sha)
        return self.bucket.key(self.kind, sha[:2], f"{sha}{self.suffix}")

    def path(self, sha: str) -> Path:
        """The picture as a local file (downloaded into the cache on first use). A missing object gives a path
        where no file is, as the local folder does; so does a bucket that cannot be reached (a page then shows
        that one picture missing, and the next look tries again)."""
        local = self._cached(sha)
        if self.cache.hit(local):
            return local
        try:
            self._keep(local, self._get(sha))
        except FileNotFoundError:
            pass
        except BucketUnreachable as error:
            log.warning("%s", error)
        return local

    def put(self, data: bytes, durable: bool = True) -> str:
        """Store ``data`` (S3 writes are atomic and durable anyway). Written even when the same bytes are there:
        one request instead of asking first, and the object's new LastModified keeps the clean-up of orphans from
        taking it for one while its record is being written."""
        sha = hashlib.sha256(data).hexdigest()
        content_type = "image/png" if self.suffix == ".png" else "image/webp"
        self.bucket.call("save a picture in", lambda: self.bucket.client.put_object(
            Bucket=self.bucket.name, Key=self.key(sha), Body=data, ContentType=content_type))
        self._keep(self._cached(sha), data)
        return sha

    def read(self, sha: str) -> bytes:
        """The picture's bytes (FileNotFoundError if there is no such object, StorageError if the bucket fails)."""
        local = self._cached(sha)
        if self.cache.hit(local):
            try:
                return local.read_bytes()
            except FileNotFoundError:
                pass  # trimmed from the cache meanwhile
        data = self._get(sha)
        self._keep(local, data)
        return data

    def exists(self, sha: str) -> bool:
        return self._head(sha, "read") is not None

    def delete(self, sha: str) -> None:
        self.bucket.call("delete a picture from", lambda: self.bucket.client.delete_object(
            Bucket=self.bucket.name, Key=self.key(sha)))
        self.cache.drop(self._cached(sha))

    def delete_if_older(self, sha: str, older_than_s: float) -> bool:
        """Delete the object if it was written at least ``older_than_s`` ago by the server's own clock (its
        LastModified against the Date of the same answer, so clocks that differ do not matter)."""
        head = self._head(sha, "clean up")
        if head is None:
            return False
        sent = head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        try:
            now = parsedate_to_datetime(sent).timestamp() if sent else time.time()
        except (TypeError, ValueError):
            now = time.time()
        if now - head["LastModified"].timestamp() < older_than_s:
            return False
        self.delete(sha)
        return True

    def all(self) -> set[str]:
        start = self.bucket.key(self.kind) + "/"

        def listing() -> set[str]:
            found = set()
            pages = self.bucket.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket.name, Prefix=start)
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(start):]
                    sha = name[3:-len(self.suffix)]
                    if name.endswith(self.suffix) and _SHA.fullmatch(sha) and name[:3] == f"{sha[:2]}/":
                        found.add(sha)
            return found

        return self.bucket.call("list", listing)

    def remove_partials(self, older_than_s: float = 0) -> int:
        """Nothing to do: an S3 put is atomic, an interrupted one leaves no object."""
        return 0

    def _keep(self, local: Path, data: bytes) -> None:
        try:
            self.cache.add(local, data)
        except OSError as error:  # the cache is only a copy: the next look downloads it again
            log.warning("could not keep a copy of a picture in %s: %s", self.cache.root, error.strerror)

    def _cached(self, sha: str) -> Path:
        _check(sha)
        return self.cache.root / self.kind / sha[:2] / f"{sha}{self.suffix}"

    def _get(self, sha: str) -> bytes:
        def download() -> bytes:
            try:
                answer = self.bucket.client.get_object(Bucket=self.bucket.name, Key=self.key(sha))
            except Exception as error:
                if _missing(error):
                    raise FileNotFoundError(sha) from None
                raise
            return answer["Body"].read()

        return self.bucket.call("read a picture from", download)

    def _head(self, sha: str, doing: str) -> dict | None:
        def head() -> dict | None:
            try:
                return self.bucket.client.head_object(Bucket=self.bucket.name, Key=self.key(sha))
            except Exception as error:
                if _missing(error):
                    return None
                raise

        return self.bucket.call(doing, head)


def cached_picture(cache_root: Path, path: str | Path) -> tuple[str, str] | None:
    """The (kind, sha) of the copy in the picture cache that ``path`` names (``ROOT/KIND/ab/SHA.ext``, as
    ``ObjectBlobs`` lays them out), or None for any other path."""
    try:
        kind, prefix, name = Path(path).resolve().relative_to(cache_root.resolve()).parts
    except (ValueError, OSError):
        return None
    sha = name.partition(".")[0]
    if kind not in ("images", "thumbs") or not _SHA.fullmatch(sha) or prefix != sha[:2]:
        return None
    return kind, sha


def _check(sha: str) -> None:
    if not _SHA.fullmatch(sha or ""):
        raise ValueError(f"not a sha256: {sha!r}")


def bucket_stores(folder: Path, settings: S3Settings | None = None) -> tuple[ObjectBlobs, ObjectBlobs]:
    """Images and thumbnails in the bucket the environment names, cached under ``folder``/picture-cache.

    A bucket that does not exist or refuses the credentials stops here with one sentence. One that cannot be
    reached does not: the app starts, each save says it was not saved, and saving resumes when it is back."""
    settings = settings or S3Settings.from_env()
    bucket = Bucket(settings)
    try:
        bucket.check()
    except BucketUnreachable as error:
        log.warning("%s", error)
    cache = PictureCache(folder / CACHE_FOLDER, settings.cache_bytes)
    return ObjectBlobs(bucket, "images", ".png", cache), ObjectBlobs(bucket, "thumbs", ".webp", cache)
