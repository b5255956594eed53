"""The `gateway` command line: serve, migrate, seed, user, compare."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from gateway import logs
from gateway.cli import compare as compare_command
from gateway.cli.embedded import EmbeddedError
from gateway.settings import Settings, SettingsError

log = logging.getLogger("gateway.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        parser.exit(2, f"gateway: {exc}\n")
    logs.configure(settings.log_level)
    try:
        result: int = args.run(settings, args)
    except KeyboardInterrupt:
        return 130
    except SettingsError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except EmbeddedError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 1
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="A hybrid REST + GraphQL gateway over PostgreSQL and Redis."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (default GATEWAY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default GATEWAY_PORT or 8000)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default GATEWAY_WORKERS or 1)"
    )
    serve.add_argument(
        "--no-seed",
        action="store_true",
        help="embedded mode: do not load demo data into an empty database",
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.add_argument("--check", action="store_true", help="only report pending migrations")
    migrate.set_defaults(run=_migrate)

    seed = commands.add_parser("seed", help="load deterministic demo data")
    seed.add_argument(
        "--scale", default="small", help="small (default), bench, or a number of products"
    )
    seed.add_argument("--reset", action="store_true", help="replace the data already there")
    seed.add_argument("--seed", type=int, default=None, help="random seed (default fixed)")
    seed.set_defaults(run=_seed)

    user = commands.add_parser("user", help="manage accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = user_commands.add_parser("create", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=["customer", "admin"], default="customer")
    create.add_argument("--display-name", help="name shown to others (default: the email's name)")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from standard input (never from the command line)",
    )
    create.set_defaults(run=_create_user)

    compare_command.register(commands)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.cli.backends import Servers

    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    settings.check_secrets()
    _exit_cleanly_on_signals()
    with Servers(settings) as servers:
        settings = servers.settings
        asyncio.run(servers.prepare(seed_demo=not args.no_seed))
        # Worker processes read settings from the environment: hand them the live URLs
        # and, in development, one shared signing secret.
        os.environ["DATABASE_URL"] = settings.database_url or ""
        if settings.jwt_secret is None and not settings.production:
            os.environ["JWT_SECRET"] = servers.development_secret()
        if settings.redis_url:
            os.environ["REDIS_URL"] = settings.redis_url
        log.info("serving on http://%s:%d", host, port, extra={"workers": workers})
        uvicorn.run(
            "gateway.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # The app resolves client addresses itself, from FORWARDED_ALLOW_IPS.
            proxy_headers=False,
            timeout_graceful_shutdown=30,
            # WebSocket messages past the body cap are refused (1009) before they are read
            # whole; the /graphql socket checks the same cap for servers started otherwise.
            ws_max_size=settings.max_body_bytes,
            access_log=False,
            log_config=None,
        )
    return 0


class _Stopped(SystemExit):
    """Raised by our signal handler so `with` blocks unwind and embedded servers stop."""


def _exit_cleanly_on_signals() -> None:
    """Turn SIGTERM/SIGINT into an exception instead of death by signal.

    uvicorn shuts down gracefully on these signals and then re-raises the signal it
    caught, with the handlers that were installed before it started. Under the default
    SIGTERM disposition that kills the process before our `finally` blocks run, leaving
    the embedded PostgreSQL and Redis orphaned; with this handler the re-raised signal
    becomes an orderly exit.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.backends import Servers

    with Servers(settings) as servers:
        return asyncio.run(servers.migrate(check_only=args.check))


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.backends import Servers

    password = sys.stdin.readline().rstrip("\r\n")
    display_name = args.display_name or args.email.split("@")[0]
    with Servers(settings) as servers:
        code, message = asyncio.run(
            servers.create_user(args.email, password, display_name=display_name, role=args.role)
        )
    print(f"gateway user create: {message}", file=sys.stderr if code else sys.stdout)
    return code


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli.backends import Servers
    from gateway.db.seed import Scale, SeedError

    try:
        scale = Scale.parse(args.scale)
    except ValueError as exc:
        print(f"gateway seed: {exc}", file=sys.stderr)
        return 2
    with Servers(settings) as servers:
        try:
            return asyncio.run(servers.seed(scale, reset=args.reset, rng_seed=args.seed))
        except SeedError as exc:
            print(f"gateway seed: {exc}", file=sys.stderr)
            return 1
