"""moto's S3 application served by waitress on 127.0.0.1:PORT (``python tests/s3_server.py PORT``).

``python -m moto.server`` serves every AWS service through werkzeug's development server, which closes the
connection after each response and routes each request by host across all services; waitress keeps connections
alive, as S3 does, and only S3 is mounted, so the stand-in costs the machine less beside the code under test."""

import sys

from moto.server import create_backend_app
from waitress import serve

if __name__ == "__main__":
    serve(create_backend_app("s3"), host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
