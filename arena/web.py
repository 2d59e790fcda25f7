"""``python app.py``: the web app, listening on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

# Arena works offline and phones nowhere: Gradio's version check and telemetry stay off unless asked for.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import anyio  # noqa: E402
from starlette.datastructures import Headers  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.middleware.trustedhost import TrustedHostMiddleware  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402

from arena import api_keys  # noqa: E402
from arena.catalog import Catalog, CatalogError  # noqa: E402
from arena.engine import Engine  # noqa: E402
from arena.errors import InputError, StorageError, path_problem  # noqa: E402
from arena.settings import Settings  # noqa: E402
from arena.store import open_store  # noqa: E402
from arena.store.object_storage import CACHE_FOLDER, cached_picture  # noqa: E402
from arena.store.store import served_folders  # noqa: E402
from arena.users import SIGN_IN_MESSAGE, SignOutOnChange, UsersFile, gradio_auth  # noqa: E402
from arena.users import for_app as users_for_app  # noqa: E402

log = logging.getLogger("arena")


def parse_args(argv: list[str] | None = None, prog: str = "app.py") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description="Arena: compare multimodal models side by side.")
    parser.add_argument("--host", default=os.environ.get("ARENA_HOST", "127.0.0.1"),
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 opens it to your network)")
    parser.add_argument("--port", type=_port, default=os.environ.get("ARENA_PORT") or "7860",
                        help="port (default 7860; 0 picks a free one)")
    parser.add_argument("--catalog", help="models catalog YAML (default: ARENA_CATALOG, else the built-in one)")
    parser.add_argument("--data-dir", help="data folder (default: ARENA_DATA_DIR, else ~/.arena)")
    parser.add_argument("--database-url", help="the gallery's database, e.g. postgresql://arena@db/arena "
                        "(default: ARENA_DATABASE_URL, else the SQLite file in the data folder)")
    parser.add_argument("--auth", default=os.environ.get("ARENA_AUTH"),
                        help="require a login, USER:PASSWORD (or ARENA_AUTH): one shared login")
    parser.add_argument("--users", default=os.environ.get("ARENA_USERS_FILE"), metavar="FILE",
                        help="sign in by name with the users in FILE (or ARENA_USERS_FILE; default: DATA_DIR/"
                             "users.toml where it exists); manage them with `python -m arena users`")
    parser.add_argument("--share", action="store_true", help="open a public Gradio share link (off by default)")
    parser.add_argument("--max-upload-mb", type=float, help="largest upload accepted (default 20)")
    parser.add_argument("--no-save", action="store_true",
                        help="do not keep outputs in the gallery by default (or ARENA_SAVE_OUTPUTS=0)")
    parser.add_argument("--allowed-hosts", default=os.environ.get("ARENA_ALLOWED_HOSTS", ""),
                        help="comma-separated host names the app may be reached by, besides 127.0.0.1, localhost "
                             "and --host (or ARENA_ALLOWED_HOSTS); '*.example.org' allows subdomains")
    parser.add_argument("--suites-dir", action="append", type=Path, metavar="FOLDER",
                        help="a folder the Suites tab may read suites from, besides prompts/ (repeatable; "
                             "or ARENA_SUITES_DIRS, separated by " + os.pathsep + ")")
    return parser.parse_args(argv)


def _port(text: str) -> int:
    """--port (or ARENA_PORT): a TCP port, 0 for any free one."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 0 to 65535, not {text!r} "
                                         "(from --port or ARENA_PORT)")
    return port


def allowed_hosts(args: argparse.Namespace) -> list[str]:
    """The Host headers accepted (any port): loopback names, --host, --allowed-hosts, and a share link's domain.

    Anything else is refused with 400, so a page on another domain that resolves to 127.0.0.1 (DNS rebinding)
    cannot drive the app. Listening on every interface (0.0.0.0, ::) adds this machine's own name, and
    AllowedHosts then also lets in any IP address (rebinding needs a name; an address cannot be rebound).
    """
    hosts = ["127.0.0.1", "localhost", "[::1]"]
    host = args.host.strip()
    if host in ("0.0.0.0", "::", ""):
        hosts.append(socket.gethostname())
    else:
        hosts.append(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    hosts += [name.strip() for name in (args.allowed_hosts or "").split(",") if name.strip()]
    if args.share:
        hosts.append("*.gradio.live")
    return list(dict.fromkeys(name.lower() for name in hosts))


# The app's own pages load scripts, styles, pictures and fonts from the app only; the queue's event stream and
# websockets go back to it; nothing frames it. Gradio needs inline scripts (its config) and eval (js_on_load).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])


def _is_address(host_header: str | None) -> bool:
    host = urlsplit("//" + (host_header or "")).hostname if host_header else None
    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return True


class AllowedHosts(TrustedHostMiddleware):
    """Starlette's Host check (any port); with ``any_address`` an IP address as the host passes too."""

    def __init__(self, app, allowed_hosts: list[str], any_address: bool = False):
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)
        self.any_address = any_address

    async def __call__(self, scope, receive, send):
        if self.any_address and scope["type"] in ("http", "websocket") and \
                _is_address(Headers(scope=scope).get("host")):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware: the Content-Security-Policy (and nosniff, no referrer) on every response."""

    HEADERS = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
               (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"same-origin")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(n, v) for n, v in self.HEADERS if n not in names]]
            await send(message)

        await self.app(scope, receive, with_headers)


class DeletedPictures:
    """ASGI middleware where pictures live in a bucket: this replica's copy of a picture (DATA_DIR/picture-cache)
    is served only while a record still uses it. A delete on another replica removes the rows and the bucket's
    objects but cannot reach this replica's copies, which would otherwise stay reachable by their address until
    the cache dropped them."""

    def __init__(self, app, store, cache: Path):
        self.app = app
        self.store = store
        self.cache = cache

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            _, found, named = scope.get("path", "").partition("/file=")
            picture = cached_picture(self.cache, named) if found else None
            if picture is not None and not await anyio.to_thread.run_sync(self.store.picture_in_use, *picture):
                Path(named).resolve().unlink(missing_ok=True)
                await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def refuse_taken_port(host: str, port: int) -> None:
    """One sentence where another process listens on the port (Gradio says it with a traceback that names a
    variable Arena does not read)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                return  # a host that cannot be bound is Gradio's to say
            raise InputError(f"port {port} on {host} is in use by another program: stop it, or give another --port "
                             "(ARENA_PORT)") from None


def launch_kwargs(args: argparse.Namespace, settings: Settings) -> dict:
    from arena.ui import CSS
    from arena.ui.compare import ASSETS

    kwargs = dict(
        server_name=args.host,
        server_port=args.port or free_port(args.host),
        share=bool(args.share),
        max_file_size=settings.max_upload_bytes,
        css=CSS,
        ssr_mode=False,
        run_history=False,
        footer_links=["api"],
        show_error=False,
        # Served by the file routes: stored pictures, thumbnails (or a bucket's copies of them: the app serves
        # those itself, see arena/store/object_storage.py) and the example images, nothing else.
        allowed_paths=[*map(str, served_folders(settings.data_dir)), str(ASSETS)],
        # Both run before any of Gradio's routes: other Host headers are refused, every page gets the policy.
        app_kwargs={"middleware": [Middleware(AllowedHosts, allowed_hosts=allowed_hosts(args),
                                              any_address=args.host.strip() in ("0.0.0.0", "::", "")),
                                   Middleware(SecurityHeaders)]},
    )
    users = sign_in_users(args, settings)
    if users is not None:
        kwargs["auth"] = gradio_auth(users)
        kwargs["app_kwargs"]["middleware"].append(Middleware(SignOutOnChange, users=users))
        kwargs["auth_message"] = SIGN_IN_MESSAGE
    elif args.auth:
        user, _, password = args.auth.partition(":")
        if not user or not password:
            raise SystemExit("--auth / ARENA_AUTH must look like USER:PASSWORD")
        kwargs["auth"] = (user, password)
    return kwargs


def sign_in_users(args: argparse.Namespace, settings: Settings) -> UsersFile | None:
    """The users file people sign in with, if any (arena.users.for_app says which, or why not in one line)."""
    return users_for_app(getattr(args, "users", None), args.auth, settings.data_dir)


def create(args: argparse.Namespace):
    """The settings, engine and Gradio app for these arguments."""
    settings = Settings.from_env(
        catalog=args.catalog, data_dir=args.data_dir, database_url=getattr(args, "database_url", None),
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024) if args.max_upload_mb else None,
        save_outputs=False if args.no_save else None, suites_dirs=getattr(args, "suites_dir", None),
    )
    api_keys.load_env_files(settings.data_dir)
    catalog = Catalog.load(settings.catalog)
    store = open_store(settings, recover=False)
    # Cleaning after a crash reads every file name: off the start-up path (young files are left alone).
    threading.Thread(target=_recover, args=(store,), name="store-recover", daemon=True).start()
    engine = Engine(catalog, settings, store)
    engine.users = sign_in_users(args, settings)
    from arena.ui import build_app

    return settings, engine, build_app(engine)


def _recover(store) -> None:
    try:
        store.recover()
    except StorageError as error:  # a bucket or database down: the next start cleans up
        log.warning("clean-up after a crash skipped: %s", error)


def launch(args: argparse.Namespace, *, block: bool = True):
    """Start the web app; with ``block=False`` return at once (tests), else serve until interrupted."""
    if args.port:
        refuse_taken_port(args.host, args.port)  # before the seconds it takes to build the app
    settings, engine, demo = create(args)
    demo.queue(default_concurrency_limit=8)
    quiet_when_idle(demo)
    kwargs = launch_kwargs(args, settings)
    if settings.storage == "s3":
        kwargs["app_kwargs"]["middleware"].append(
            Middleware(DeletedPictures, store=engine.store, cache=engine.store.folder / CACHE_FOLDER))
    try:
        demo.launch(prevent_thread_lock=not block, **kwargs)
    except BaseException:
        engine.close()
        raise
    if block:
        engine.close()
    return demo, engine


# How often Gradio's queue looks for a new event when it has none (its own: every millisecond), and for progress
# bars to send (its own: every 10 ms; Arena shows none through Gradio's progress).
IDLE_POLL_S = {"sleep_when_free": 0.01, "progress_update_sleep_when_free": 0.05}


def quiet_when_idle(demo) -> None:
    """Gradio's queue wakes every millisecond to look for work when there is none: about 5% of a core for an app
    nobody is using, a laptop's fan and battery. Every 10 ms costs a click at most 10 ms before its handler starts
    (streamed frames do not wait on it). The attributes are the queue's own; a Gradio without them is left as is."""
    queue = getattr(demo, "_queue", None)
    for name, seconds in IDLE_POLL_S.items():
        if isinstance(getattr(queue, name, None), (int, float)):
            setattr(queue, name, max(getattr(queue, name), seconds))


def main(argv: list[str] | None = None, prog: str = "app.py") -> None:
    level = (os.environ.get("ARENA_LOG_LEVEL") or "INFO").strip().upper()
    if level not in logging.getLevelNamesMapping():
        sys.exit(f"arena: ARENA_LOG_LEVEL should be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got {level!r})")
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, prog)
    try:
        launch(args)
    except (CatalogError, StorageError, InputError) as error:
        sys.exit(f"arena: {error}")
    except OSError as error:
        if (said := path_problem(error)) is None:
            raise
        sys.exit(f"arena: {said}")
