"""The ``propylon`` command (also ``python -m app``).

* ``propylon check -c FILE``: load the config and build every endpoint
  stack; print each error with its JSON path (exit 1), or the endpoints it
  would serve and the namespaces it would ignore (exit 0);
* ``propylon routes -c FILE``: the route table;
* ``propylon settings``: the ``GATEWAY_*`` environment table (Markdown);
* ``propylon demo-backends``: start the demo users/billing/preferences
  services used by ``config/examples/user-profile.json``;
* ``propylon designer -c FILE``: serve the Designer's API for FILE on
  127.0.0.1 (``app.designer.api``), with a sandbox gateway for "Try it".
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Optional, Sequence, TextIO

from app import settings as settings_mod
from app.config.check import CheckReport, check_file


def _print_errors(report: CheckReport, out: TextIO) -> None:
    print(f"{report.path}: {len(report.errors)} error(s)", file=out)
    for error in report.errors:
        print(f"  ERROR {error}", file=out)


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    report = check_file(args.config, lint=args.lint)
    if report.errors:
        _print_errors(report, out)
        return 1
    if report.environment_error:
        print(f"environment: ERROR {report.environment_error}", file=out)
        return 1
    service = report.service
    assert service is not None
    count = len(service.endpoints)
    print(f"{args.config}: configuration OK (version 3, {count} endpoint{'' if count == 1 else 's'})", file=out)
    for endpoint in service.endpoints:
        print(f"  {endpoint.method:<6} {endpoint.endpoint}  ({len(endpoint.backends)} backend"
              f"{'s' if len(endpoint.backends) != 1 else ''}, timeout {endpoint.timeout:g}s, "
              f"{endpoint.output_encoding})", file=out)
    if report.unimplemented:
        print("Not implemented by Propylon (KrakenD namespaces, accepted and ignored):", file=out)
        for path, namespace in report.unimplemented:
            print(f"  {path}: {namespace}", file=out)
    for path, namespace in report.unknown:
        print(f"WARNING {path}: unknown namespace {namespace!r} (not a KrakenD namespace: a typo?); ignored",
              file=out)
    for warning in report.warnings:
        print(f"WARNING {warning}", file=out)
    if args.lint:
        for finding in report.lint:
            print(f"LINT {finding}", file=out)
        print(f"lint: {len(report.lint)} finding(s)", file=out)
    return 0


def cmd_routes(args: argparse.Namespace, out: TextIO) -> int:
    report = check_file(args.config)
    if report.errors or report.service is None:
        _print_errors(report, out)
        return 1
    for endpoint in report.service.endpoints:
        print(f"{endpoint.method:<6} {endpoint.endpoint}", file=out)
        for backend in endpoint.backends:
            hosts = ", ".join(backend.hosts)
            print(f"         -> {backend.method:<6} {hosts}{backend.url_pattern.source}  [{backend.encoding}]",
                  file=out)
    return 0


def cmd_settings(args: argparse.Namespace, out: TextIO) -> int:
    out.write(settings_mod.markdown_table())
    return 0


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from app import demo
    demo.serve_forever(args.host, args.port, out)
    return 0


def cmd_designer(args: argparse.Namespace, out: TextIO) -> int:
    from werkzeug.serving import make_server

    from app.designer.api import create_designer
    from app.errors import ConfigError
    try:
        app = create_designer(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app.config["DESIGNER_HOST"] = args.host
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"Designer for {args.config} on http://{args.host}:{server.server_port}/ (Ctrl-C stops it)",
          file=out, flush=True)
    # SIGTERM unwinds like Ctrl-C so the "Try it" sandbox gateway (its own session) is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["designer_sandbox"].stop()
        server.server_close()
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="propylon", description="KrakenD-compatible API gateway")
    sub = top.add_subparsers(dest="command", required=True)
    default_config = settings_mod.read("GATEWAY_CONFIG")
    for name, func, text in (("check", cmd_check, "validate a configuration and build every endpoint"),
                             ("routes", cmd_routes, "list the routes a configuration serves")):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("-c", "--config", default=default_config,
                         help=f"configuration file (default: $GATEWAY_CONFIG or {default_config})")
        if name == "check":
            cmd.add_argument("-l", "--lint", action="store_true",
                             help="also report risky but valid settings, each with a one-line fix")
        cmd.set_defaults(func=func)
    cmd = sub.add_parser("settings", help="print the GATEWAY_* environment settings as Markdown")
    cmd.set_defaults(func=cmd_settings)
    cmd = sub.add_parser("demo-backends", help="serve the demo users, billing, preferences and identity services")
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=int, default=9100,
                     help="users on PORT, billing PORT+1, preferences PORT+2, identity (JWKS, tokens) PORT+3")
    cmd.set_defaults(func=cmd_demo)
    cmd = sub.add_parser("designer", help="serve the Designer's API for one JSON configuration file",
                         description="serve the Designer's API (check, save) for one JSON configuration file; "
                                     "it writes only that file")
    cmd.add_argument("-c", "--config", default=default_config,
                     help=f"the JSON file to edit (default: $GATEWAY_CONFIG or {default_config})")
    cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    cmd.add_argument("--port", type=int, default=8081, help="port (default: 8081; 0 picks a free one)")
    cmd.set_defaults(func=cmd_designer)
    return top


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args, out))
    except ValueError as exc:  # a GATEWAY_* variable that does not cast
        print(f"error: {exc}", file=sys.stderr)
        return 2
