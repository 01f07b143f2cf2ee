"""The ``dbplay`` command: open the window, or work with templates and databases headless.

Other tools and CI jobs script against this surface, so it stays exactly::

    dbplay [FILE ...]                      open the window (with templates or SQL files)
    dbplay template save --source URI --out FILE [--name NAME] [--description TEXT]
    dbplay template restore FILE --target URI
    dbplay template import SOURCE --out FILE [--name NAME] [--engine NAME]
    dbplay template info FILE [--json]
    dbplay template verify FILE
    dbplay query --source URI [TEXT | --file FILE] [--format table|csv|json] [--limit N]
    dbplay server status [--json] | uri [--with-password] [--database NAME] | start | stop
    dbplay --version

Wherever a URI is taken, ``embedded`` or ``embedded/DBNAME`` names a database on the
embedded server (see :mod:`dbplay_desktop.cli_server`). Which engines exist, and their
address forms, come from the engine registry: this module names none of them.

Exit status: 0 success, 1 failure (one ``error: ...`` line on stderr, a traceback only
with ``--debug``), 2 usage error, 130 interrupted. Text that comes from a template or a
server (names, descriptions, findings, messages) is printed through
:func:`~dbplay_desktop.display_text.safe_text`, so it cannot move the cursor, retitle the
terminal or fake a line of dbplay's own output. Heavy modules (drivers, the template
container, Qt) load inside the command that needs them, so ``dbplay --version`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dbplay_desktop import __version__
from dbplay_desktop.display_text import safe_json, safe_text

if TYPE_CHECKING:
    from dbplay_desktop.progress import TerminalProgress

COMMANDS = ("template", "query", "server")
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

QUERY_EPILOG = """\
output:
  stdout carries results only; the status of statements without rows (e.g. INSERT 0 3),
  server notices and errors go to stderr, so '--format csv > out.csv' stays clean.
  table  aligned columns per statement (widths from the first rows, streamed), with a
         '(N rows)' footer; NULL shown as NULL; a blank line between statements.
         A value wider than its column (at most 60 characters, or the width the
         first rows needed) is cut and ends in '…': use csv or json for whole values.
  csv    a header line then the rows (RFC 4180 quoting, NULL as an empty field);
         a blank line between the results of several statements. Documents: the union
         of the top-level fields seen in the first batch is the header; fields that
         appear later follow in each row, and a note on stderr names them.
  json   JSON Lines: one object per statement, one line each:
         {"statement": N, "line": L, "column": C, "columns": [{"name": .., "type": ..}] | null,
          "rows": [[...], ...], "rowcount": N, "status": "...", "truncated": false}
         a failing statement's object has "error": {"message", "line", "column"} instead.
         A document engine's results carry whole documents instead of columns and rows:
         {"statement": N, ..., "documents": [{...}, ...], "rowcount": ..}, each document
         with its own fields (an absent field left out), in relaxed Extended JSON.
         Values keep their JSON type, as in the window's JSON copy and export: decimals
         are numbers written exactly (1.50; parse them as decimals to keep every digit),
         NaN and Infinity the strings "NaN", "Infinity"; dates, times and other values
         are strings; bytes are "\\x<hex>"; documents and vectors nested JSON.
rows are streamed batch by batch as the server sends them, never collected in memory.
control characters in values and messages: table shows them escaped (\\n, \\x1b, \\u202e);
  json writes them as \\u escapes (the same data once decoded); csv keeps data exact.
exit status 1 at the first failing statement, after the results of the ones before it:
  error: statement N (line L, column C): <message>
"""


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line ``error:`` style and exit status 2 on usage errors."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"error: {message}\n")


def _uri_examples() -> str:
    """Address examples of the installed engines (read from their descriptors, no driver)."""
    from dbplay_desktop.engines.registry import descriptors

    return " or ".join(d.uri_example for d in descriptors()) or "URI"


def build_parser() -> argparse.ArgumentParser:
    """The full parser: ``template``, ``query`` and ``server`` commands, global
    ``--debug``/``--version``."""
    parser = _Parser(
        prog="dbplay",
        usage="dbplay [-h] [--version] [--debug] [FILE ... | {template,query,server} ...]",
        description="Database Playground: throwaway databases from portable .dbtpl templates.",
        epilog="Without a command, dbplay opens the window with the given FILEs (templates "
        "or query files). Run 'dbplay COMMAND -h' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"dbplay {__version__}")
    debug = {"action": "store_true", "help": "show tracebacks and debug logging"}
    parser.add_argument("--debug", **debug)
    sub_debug = {**debug, "default": argparse.SUPPRESS}
    commands = parser.add_subparsers(
        dest="command", metavar="{template,query,server}", prog="dbplay"
    )

    template = commands.add_parser("template", help="save, restore, inspect and check .dbtpl files")
    template.add_argument("--debug", **sub_debug)
    actions = template.add_subparsers(
        dest="action", metavar="{save,restore,import,info,verify}", prog="dbplay template"
    )
    actions.required = True

    save = actions.add_parser("save", help="save a database as a template file")
    save.add_argument("--source", required=True, metavar="URI",
                      help=f"database to save, e.g. {_uri_examples()} or embedded/shop")
    save.add_argument("--out", required=True, metavar="FILE", help="template file to write")
    save.add_argument("--name", help="template name (default: the database name)")
    save.add_argument("--description", default="", metavar="TEXT", help="template description")
    save.add_argument("--debug", **sub_debug)
    save.set_defaults(handler=_cmd_save)

    restore = actions.add_parser(
        "restore", help="restore a template into a new database",
        description="Restore a template into the database named by --target; the database "
        "must not exist (it is created) or be empty.",
    )
    restore.add_argument("file", metavar="FILE", help="template file (.dbtpl)")
    restore.add_argument("--target", required=True, metavar="URI",
                         help=f"database to create, e.g. {_uri_examples()} or embedded/copy")
    restore.add_argument("--debug", **sub_debug)
    restore.set_defaults(handler=_cmd_restore)

    imports = actions.add_parser(
        "import", help="make a template from another tool's dump",
        description="Make a template from another tool's dump or export (a file or "
        "folder). The engine that reads it is the one that recognises SOURCE, or the one "
        "named with --engine; the payload gets the same safety scan as any template "
        "before the file is written.",
    )
    imports.add_argument("source", metavar="SOURCE", help="the dump to import (file or folder)")
    imports.add_argument("--out", required=True, metavar="FILE", help="template file to write")
    imports.add_argument("--name", help="template name (default: the source's name)")
    imports.add_argument("--engine", metavar="NAME",
                         help="the engine that reads SOURCE (default: the one that "
                         "recognises it)")
    imports.add_argument("--debug", **sub_debug)
    imports.set_defaults(handler=_cmd_import)

    info = actions.add_parser("info", help="show a template's manifest")
    info.add_argument("file", metavar="FILE", help="template file (.dbtpl)")
    info.add_argument("--json", action="store_true", help="print the information as JSON")
    info.add_argument("--debug", **sub_debug)
    info.set_defaults(handler=_cmd_info)

    verify = actions.add_parser(
        "verify", help="check a template's structure, hashes and safety",
        description="Check structure, file hashes and the engine's safety scan without a "
        "server. Prints each finding on stdout and exits 1 if there is any.",
    )
    verify.add_argument("file", metavar="FILE", help="template file (.dbtpl)")
    verify.add_argument("--debug", **sub_debug)
    verify.set_defaults(handler=_cmd_verify)

    query = commands.add_parser(
        "query", help="run statements against a database and print the results",
        description="Run the statements of TEXT (or --file, or stdin) against a database,\n"
        "headless, and print each statement's result.",
        epilog=QUERY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    query.add_argument("--source", required=True, metavar="URI",
                       help="database to query (a URI, or embedded[/DBNAME])")
    query.add_argument("text", nargs="?", metavar="TEXT", help="the statements to run")
    query.add_argument("--file", metavar="FILE", help="read the statements from FILE ('-': stdin)")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table",
                       help="output format (default: table)")
    query.add_argument("--limit", type=_non_negative, metavar="N",
                       help="print at most N rows per statement")
    query.add_argument("--debug", **sub_debug)
    query.set_defaults(handler=_cmd_query)

    from dbplay_desktop.cli_server import add_server_parser

    add_server_parser(commands, sub_debug)
    return parser


def build_window_parser() -> argparse.ArgumentParser:
    """``dbplay [--debug] [FILE ...]``: the files the window should open."""
    parser = _Parser(prog="dbplay", usage="dbplay [-h] [--version] [--debug] [FILE ...]")
    parser.add_argument("--version", action="version", version=f"dbplay {__version__}")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("files", nargs="*", metavar="FILE")
    parser.set_defaults(handler=_cmd_window)
    return parser


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _wants_command_parser(argv: Sequence[str]) -> bool:
    """Whether argv names a command (or asks for help) rather than files for the window."""
    for arg in argv:
        if arg == "--":
            return False
        if arg in ("-h", "--help"):
            return True
        if not arg.startswith("-") or arg == "-":
            return arg in COMMANDS
    return False


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dbplay`` command; returns the exit status (usage errors raise SystemExit(2))."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser() if _wants_command_parser(argv) else build_window_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    if debug:
        log_handler = logging.StreamHandler()
        log_handler.setFormatter(_SafeFormatter("%(name)s: %(message)s"))
        logging.basicConfig(level=logging.DEBUG, handlers=[log_handler])
    handler: Callable[[argparse.Namespace], int] = args.handler
    if handler is not _cmd_window:
        from dbplay_desktop.atomic_file import remove_abandoned

        remove_abandoned()  # what a killed dbplay left half-written (the window does it too)
    try:
        return handler(args)
    except KeyboardInterrupt:
        _print_error("interrupted", None)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILURE
    except Exception as exc:
        _print_error(_one_line(exc), exc if debug else None)
        return EXIT_FAILURE


class _SafeFormatter(logging.Formatter):
    """Debug log lines quote SQL and server messages: escape them like all other output."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_text(super().format(record), multiline=True)


def _one_line(exc: BaseException) -> str:
    """The error line for ``exc``: an engine's or the server's own message, never a class name."""
    from dbplay_desktop.engines.base import EngineError

    if isinstance(exc, EngineError):
        return str(exc)
    from dbplay_desktop.engines.registry import driver_error_message

    # A driver error that escaped the engine's wrapping: still the server's words.
    described = driver_error_message(exc)
    if described:
        return " ".join(described.split())
    if isinstance(exc, UnicodeDecodeError):
        return f"the input is not UTF-8 text (byte {exc.start})"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.strerror:  # a full disk while writing, ...
        return f"cannot go on: {exc.strerror}"
    text = " ".join(str(exc).split())
    return f"unexpected {type(exc).__name__}: {text} (run with --debug for details)"


def _print_error(message: str, exc: BaseException | None) -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()
    if exc is not None:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        sys.stderr.write(safe_text("".join(lines), multiline=True))
    print(f"error: {safe_text(message)}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    """After a closed pipe (``dbplay query ... | head``), drop further output quietly."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def plural(count: int, noun: str) -> str:
    """``1 payload file``, ``2 payload files``: counts read as sentences."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _status(message: str) -> None:
    print(safe_text(message), file=sys.stderr, flush=True)


def _progress(label: str) -> TerminalProgress | None:
    from dbplay_desktop.progress import terminal_progress

    return terminal_progress(label)


# --------------------------------------------------------------------------- commands


def _cmd_window(args: argparse.Namespace) -> int:
    try:
        from dbplay_desktop.ui.app import run_app
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("PySide6"):
            raise RuntimeError(
                "the window needs PySide6: pip install 'PySide6-Essentials>=6.6'"
            ) from exc
        if exc.name and exc.name.startswith("dbplay_desktop.ui"):
            _print_error("the dbplay window is not part of this build yet; "
                         "use 'dbplay template ...' or 'dbplay query ...'", None)
            return EXIT_FAILURE
        raise
    if args.debug:
        return int(run_app(list(args.files), debug=True) or 0)
    return int(run_app(list(args.files)) or 0)


def _cmd_save(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dbplay_desktop.cli_server import resolve_uri
    from dbplay_desktop.progress import human_size
    from dbplay_desktop.templates.operations import save_template

    with resolve_uri(args.source, "template save", "--source") as source:
        progress = _progress("Saving")
        try:
            manifest = save_template(source, args.out, name=args.name,
                                     description=args.description, progress=progress)
        finally:
            if progress is not None:
                progress.finish()
    size = human_size(Path(args.out).stat().st_size)
    files = plural(len(manifest.files), "payload file")
    print(safe_text(f"saved template {manifest.name!r} to {args.out} ({size}, {files})"))
    return EXIT_OK


def _cmd_restore(args: argparse.Namespace) -> int:
    from dbplay_desktop.cli_server import resolve_uri
    from dbplay_desktop.templates.operations import restore_template

    with resolve_uri(args.target, "template restore", "--target") as target:
        progress = _progress("Restoring")
        try:
            database = restore_template(args.file, target, progress=progress)
        finally:
            if progress is not None:
                progress.finish()
    print(safe_text(f"restored {args.file} into database {database}"))
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dbplay_desktop.progress import human_size
    from dbplay_desktop.templates.operations import import_template

    progress = _progress("Importing")
    try:
        manifest = import_template(args.source, args.out, name=args.name, engine=args.engine,
                                   progress=progress)
    finally:
        if progress is not None:
            progress.finish()
    size = human_size(Path(args.out).stat().st_size)
    files = plural(len(manifest.files), "payload file")
    print(safe_text(f"imported {args.source} as template {manifest.name!r} to {args.out} "
                    f"({size}, {files})"))
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    import json

    from dbplay_desktop.progress import human_size
    from dbplay_desktop.templates.operations import template_info

    info = template_info(args.file)
    if args.json:
        print(safe_json(json.dumps(info, indent=2, ensure_ascii=False, default=str)))
        return EXIT_OK
    lines = [
        ("name", info["name"]),
        ("description", info["description"] or "-"),
        ("engine", f"{info['engine_display_name']} {info['engine_version']}".rstrip()),
        ("created", info["created_at"]),
        ("app version", info["app_version"]),
        ("format", f"{info['format']} v{info['format_version']}"),
        ("size", f"{human_size(info['file_size'])} "
                 f"({human_size(info['payload_size'])} uncompressed)"),
    ]
    # Every value may come from the template: one line each, controls escaped.
    for key, value in lines:
        print(f"{key + ':':<13}{safe_text(value)}")
    if info["stats"]:
        stats = ", ".join(f"{key} {value}" for key, value in info["stats"].items())
        print(f"{'contents:':<13}{safe_text(stats)}")
    print("files:")
    for entry in info["files"]:
        size = human_size(entry["size"])
        print(f"  {safe_text(entry['path'])}  {size}  sha256 {entry['sha256']}")
    scripts = info.get("scripts") or []
    if not scripts:
        print(f"{'scripts:':<13}none")
    else:
        print("scripts:")
    for entry in scripts:
        size = human_size(entry["size"])
        print(f"  {safe_text(entry['path'])}  {size}  sha256 {entry['sha256']}")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from dbplay_desktop.templates.operations import verify_template

    progress = _progress("Scanning")
    try:
        problems = verify_template(args.file, progress=progress)
    finally:
        if progress is not None:
            progress.finish()
    for problem in problems:
        print(safe_text(problem))
    if problems:
        _print_error(f"{args.file}: {plural(len(problems), 'problem')} found", None)
        return EXIT_FAILURE
    print(f"{safe_text(args.file)}: ok")
    return EXIT_OK


def _cmd_query(args: argparse.Namespace) -> int:
    from dbplay_desktop.cli_server import resolve_uri

    text = _query_text(args)
    with resolve_uri(args.source, "query", "--source", use_default_database=True) as uri:
        return _run_query(uri, text, args)


def _run_query(uri: str, text: str, args: argparse.Namespace) -> int:
    from dbplay_desktop.engines.registry import engine_for_uri
    from dbplay_desktop.query_output import WRITERS

    engine = engine_for_uri(uri)
    writer = WRITERS[args.format](sys.stdout, args.limit)
    try:
        with engine.connect() as session:
            for number, result in enumerate(session.execute(text), 1):
                if result.error is not None:
                    writer.failed(number, result)
                    err, stmt = result.error, result.statement
                    line = err.line if err.line is not None else stmt.line
                    column = err.column if err.column is not None else stmt.column
                    _print_error(f"statement {number} (line {line}, column {column}): "
                                 f"{err.message}", err if args.debug else None)
                    return EXIT_FAILURE
                writer.write(number, result)
                for note in writer.notes:
                    _status(f"note: {note}")
                writer.notes.clear()
                for notice in result.notices:
                    _status(f"notice: {notice}")
                if not result.returns_rows and result.status:
                    _status(result.status)
    finally:
        engine.close()
    return EXIT_OK


def _query_text(args: argparse.Namespace) -> str:
    if args.text is not None and args.file is not None:
        raise _usage_error("query", "give the statements as TEXT or with --file, not both")
    if args.text is not None:
        return args.text
    if args.file is not None and args.file != "-":
        with open(args.file, encoding="utf-8") as handle:
            return handle.read()
    if args.file is None and sys.stdin.isatty():
        raise _usage_error("query", "give the statements as TEXT, with --file FILE, or on stdin")
    return sys.stdin.read()


def _usage_error(command: str, message: str) -> SystemExit:
    print(f"usage: dbplay {command} -h for help\nerror: {message}", file=sys.stderr)
    return SystemExit(EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
