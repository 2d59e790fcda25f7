"""A real S3-compatible server on loopback for the tests: moto's S3 server (tests/s3_server.py), in its own process
(so a test can stop it and start it again on the same port), and a fresh bucket per test.

A test module takes the fixtures as its own: ``s3_server, bucket = s3.s3_server, s3.bucket``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import Restartable, free_port

# Test credentials only: moto accepts any; they must never appear in a message or a log.
ACCESS_KEY = "AKIATESTARENAKEY0001"
SECRET_KEY = "arena-test-secret-0b1e7c5d9f"



def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class S3Server(Restartable):
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("s3_server.py")), str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Its buckets are lost with it: moto keeps them in memory."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def s3_environment(server: S3Server, bucket: str, prefix: str = "team") -> dict[str, str]:
    """What an app process needs in its environment to keep pictures in ``bucket``."""
    return {"ARENA_STORAGE": "s3", "ARENA_S3_BUCKET": bucket, "ARENA_S3_ENDPOINT_URL": server.url,
            "ARENA_S3_REGION": "us-east-1", "ARENA_S3_PREFIX": prefix, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


@pytest.fixture
def bucket(s3_server, monkeypatch) -> str:
    """A new empty bucket; the environment points the store at it."""
    name = f"arena-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    for key, value in s3_environment(s3_server, name).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return name
