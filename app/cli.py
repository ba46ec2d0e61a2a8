"""The ``propylon`` command (also ``python -m app``).

* ``propylon check -c FILE``: load the config and build every endpoint
  stack; print each error with its JSON path (exit 1), or the endpoints it
  would serve and the namespaces it would ignore (exit 0);
* ``propylon routes -c FILE``: the route table;
* ``propylon settings``: the ``GATEWAY_*`` environment table (Markdown);
* ``propylon demo-backends``: start the demo users/billing/preferences
  services used by ``config/examples/user-profile.json``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence, TextIO

from app import config as config_pkg
from app import settings as settings_mod
from app.config.model import ServiceConfig
from app.config.namespaces import is_known
from app.errors import ConfigError, ConfigErrors


def _load_checked(path: str, out: TextIO) -> Optional[tuple[ServiceConfig, tuple[str, ...]]]:
    """Load and build everything: (config, build warnings); print the errors and return None if any."""
    from app import create_app
    try:
        service = config_pkg.load(path)
        app = create_app(settings_mod.Settings(config_path=path, log_level="CRITICAL"), service, strict=True)
    except ConfigError as exc:
        errors = exc.errors if isinstance(exc, ConfigErrors) else (exc,)
        print(f"{path}: {len(errors)} error(s)", file=out)
        for error in errors:
            print(f"  ERROR {error}", file=out)
        return None
    return service, app.config["PROPYLON_WARNINGS"]


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    loaded = _load_checked(args.config, out)
    try:
        settings = settings_mod.Settings.from_env()
        workers = settings_mod.default_workers()
    except ValueError as exc:
        print(f"environment: ERROR {exc}", file=out)
        return 1
    if loaded is None:
        return 1
    service, build_warnings = loaded
    count = len(service.endpoints)
    print(f"{args.config}: configuration OK (version 3, {count} endpoint{'' if count == 1 else 's'})", file=out)
    for endpoint in service.endpoints:
        print(f"  {endpoint.method:<6} {endpoint.endpoint}  ({len(endpoint.backends)} backend"
              f"{'s' if len(endpoint.backends) != 1 else ''}, timeout {endpoint.timeout:g}s, "
              f"{endpoint.output_encoding})", file=out)
    known = [(p, n) for p, n in service.ignored_namespaces if is_known(n)]
    unknown = [(p, n) for p, n in service.ignored_namespaces if not is_known(n)]
    if known:
        print("Not implemented by Propylon (KrakenD namespaces, accepted and ignored):", file=out)
        for path, namespace in known:
            print(f"  {path}: {namespace}", file=out)
    for path, namespace in unknown:
        print(f"WARNING {path}: unknown namespace {namespace!r} (not a KrakenD namespace: a typo?); ignored",
              file=out)
    from app.wiring import service_warnings, shared_state_warnings
    for warning in (service_warnings(service) + list(build_warnings)
                    + shared_state_warnings(service, workers, settings.storage_url)):
        print(f"WARNING {warning}", file=out)
    if args.lint:
        from app.config.lint import lint
        findings = lint(service, workers, bool(settings.storage_url))
        for finding in findings:
            print(f"LINT {finding}", file=out)
        print(f"lint: {len(findings)} finding(s)", file=out)
    return 0


def cmd_routes(args: argparse.Namespace, out: TextIO) -> int:
    loaded = _load_checked(args.config, out)
    if loaded is None:
        return 1
    service = loaded[0]
    for endpoint in service.endpoints:
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
    return top


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args, out))
    except ValueError as exc:  # a GATEWAY_* variable that does not cast
        print(f"error: {exc}", file=sys.stderr)
        return 2
