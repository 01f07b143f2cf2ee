"""``dbplay server ...`` and ``embedded[/DBNAME]`` sources: the embedded PostgreSQL from a shell.

The window runs its private server invisibly; these commands show where it is
(``status``), give its address to other tools (``uri``), and start or stop it. Wherever
a command takes a URI, ``embedded`` (the ``postgres`` database) or ``embedded/NAME``
names a database on that server: it is started for the command when it is not running
and stopped again afterwards, so the machine is left as it was found.

The password never goes to stdout unless ``--with-password`` asks for it: a URI without
it works with libpq tools through ``PGPASSFILE`` (see
:attr:`~dbplay_desktop.servers.postgres.EmbeddedPostgres.pgpass_file`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dbplay_desktop.display_text import safe_json, safe_text

if TYPE_CHECKING:
    from dbplay_desktop.servers.postgres import EmbeddedPostgres

EMBEDDED = "embedded"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3

SERVER_EPILOG = """\
embedded sources: wherever a command takes a URI (--source, --target), 'embedded'
  (its postgres database) or 'embedded/NAME' names a database on this server; it is
  started for the command if needed and stopped afterwards if the command started it.
exit status of 'status': 0 running, 3 not running.
"""


def add_server_parser(commands: Any, sub_debug: dict[str, Any]) -> None:
    """``dbplay server {status,uri,start,stop}`` on the main parser's subcommands."""
    server = commands.add_parser(
        "server", help="status, address, start and stop of the embedded PostgreSQL",
        description="The embedded PostgreSQL server that the window uses by default.",
        epilog=SERVER_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    server.add_argument("--debug", **sub_debug)
    actions = server.add_subparsers(
        dest="action", metavar="{status,uri,start,stop}", prog="dbplay server"
    )
    actions.required = True
    status = actions.add_parser(
        "status", help="running or not, version, address, data directory, PID")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.add_argument("--debug", **sub_debug)
    status.set_defaults(handler=cmd_status)
    uri = actions.add_parser(
        "uri", help="print the superuser URI of the running server",
        description="Print the URI of the running embedded server's superuser 'dbplay'. "
        "Without --with-password the URI has no password; libpq tools find it with "
        "PGPASSFILE (the file is named on stderr).",
    )
    uri.add_argument("--database", default="postgres", metavar="NAME",
                     help="database in the URI (default: postgres)")
    uri.add_argument("--with-password", action="store_true",
                     help="put the password in the URI (it is then on your terminal)")
    uri.add_argument("--debug", **sub_debug)
    uri.set_defaults(handler=cmd_uri)
    start = actions.add_parser(
        "start", help="start the server in the background and leave it running",
        description="Start the embedded server (creating its cluster on first use) and "
        "leave it running; a dbplay window started later uses it, and stops it when it quits.",
    )
    start.add_argument("--debug", **sub_debug)
    start.set_defaults(handler=cmd_start)
    stop = actions.add_parser(
        "stop", help="stop the server (also when a window is using it)")
    stop.add_argument("--debug", **sub_debug)
    stop.set_defaults(handler=cmd_stop)


def _server() -> EmbeddedPostgres:
    from dbplay_desktop.servers.postgres import EmbeddedPostgres, default_data_dir

    return EmbeddedPostgres(default_data_dir())


def _say(text: str, *, err: bool = False) -> None:
    print(safe_text(text), file=sys.stderr if err else sys.stdout, flush=True)


def _summary(server: EmbeddedPostgres) -> str:
    status = server.status()
    return (f"embedded PostgreSQL {server.server_version()} on {status.address} "
            f"(PID {status.pid}, data directory {status.data_dir})")


# --------------------------------------------------------------------------- commands


def cmd_status(args: argparse.Namespace) -> int:
    server = _server()
    status = server.status()
    version: str | None = str(status.version) if status.version else None
    if status.running and server.attach():
        version = server.server_version()
    programs = server.programs()
    info = {
        "running": status.running,
        "version": version,
        "host": status.host if status.running else None,
        "port": status.port,
        "pid": status.pid,
        "data_directory": str(status.data_dir),
        "password_file": str(server.pgpass_file) if status.running else None,
        "programs": str(programs.bin_dir) if programs else None,
    }
    if args.json:
        print(safe_json(json.dumps(info, ensure_ascii=False)))
    else:
        rows = [
            ("status", "running" if status.running else "not running"),
            ("version", version or "-"),
            ("address", status.address),
            ("data directory", status.data_dir),
            ("PID", status.pid or "-"),
            ("programs", f"{programs.bin_dir} ({programs.version_text})" if programs else "-"),
        ]
        if status.running:
            rows.append(("password file", f"{server.pgpass_file} (PGPASSFILE)"))
        for key, value in rows:
            _say(f"{key + ':':<16}{value}")
    return EXIT_OK if status.running else EXIT_NOT_RUNNING


def cmd_uri(args: argparse.Namespace) -> int:
    server = _server()
    if not server.attach():
        from dbplay_desktop.servers.postgres import ServerError

        raise ServerError("the embedded PostgreSQL is not running; start it with "
                          "'dbplay server start'")
    print(server.uri(args.database, with_password=args.with_password), flush=True)
    if not args.with_password:
        _say(f"note: the URI has no password; for psql and other libpq tools set "
             f"PGPASSFILE={server.pgpass_file} (or use --with-password)", err=True)
    return EXIT_OK


def cmd_start(args: argparse.Namespace) -> int:
    server = _server()
    if server.attach():
        _say(f"already running: {_summary(server)}")
        return EXIT_OK
    if sys.stderr.isatty():
        _say(f"starting the embedded PostgreSQL in {server.data_dir}…", err=True)
    server.start(stop_at_exit=False)
    server.users.leave()  # it runs on its own until 'dbplay server stop' or a window's exit
    _say(f"started: {_summary(server)}")
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    server = _server()
    status = server.status()
    if not status.running:
        _say(f"the embedded PostgreSQL is not running (data directory {status.data_dir})")
        return EXIT_OK
    server.stop()
    _say(f"stopped the embedded PostgreSQL (PID {status.pid}, data directory {status.data_dir})")
    return EXIT_OK


# --------------------------------------------------------------------------- sources


def is_embedded(spec: str) -> bool:
    return spec == EMBEDDED or spec.startswith(EMBEDDED + "/")


@contextmanager
def resolve_uri(spec: str, command: str, option: str,
                use_default_database: bool = False) -> Iterator[str]:
    """The URI for ``spec``: itself, or for ``embedded[/NAME]`` a URI on the embedded
    server, started for the duration of the ``with`` block when it is not running.

    ``use_default_database``: a bare ``embedded`` means the server's maintenance database
    (for queries); otherwise a name is required (nothing is restored into it)."""
    if not is_embedded(spec):
        yield spec
        return
    database = spec.partition("/")[2] or ("postgres" if use_default_database else None)
    if not database:
        print(f"usage: dbplay {command} -h for help\nerror: {option} embedded needs a "
              f"database name: {option} embedded/NAME", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    server = _server()
    started = False
    if server.attach():
        server.users.join()  # a window closing meanwhile leaves it running for this
    else:
        server.start(stop_at_exit=True)
        started = not server.adopted
    try:
        yield server.uri(database, with_password=True)
    finally:
        if started:
            server.release()  # left running if the window adopted it meanwhile
        else:
            server.users.leave()
