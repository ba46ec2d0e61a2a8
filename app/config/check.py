"""What ``propylon check`` finds, as data: used by the command and by the Designer.

``check_file`` loads a configuration, builds every endpoint stack (strictly:
problems the running gateway would answer by failing closed are errors
here), and gathers warnings and, on request, lint findings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from app.config.model import ServiceConfig
from app.errors import ConfigError, ConfigErrors


@dataclass
class CheckReport:
    path: str
    service: Optional[ServiceConfig] = None
    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: (JSON path, namespace): KrakenD namespaces Propylon does not implement.
    unimplemented: list[tuple[str, str]] = field(default_factory=list)
    #: (JSON path, namespace): names that are no KrakenD namespace at all (typos?).
    unknown: list[tuple[str, str]] = field(default_factory=list)
    lint: list[str] = field(default_factory=list)
    environment_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.environment_error


def check_file(path: str, lint: bool = False) -> CheckReport:
    """Everything ``propylon check`` reports for the file at ``path``."""
    from app import config as config_pkg
    from app import create_app, settings as settings_mod
    report = CheckReport(path)
    try:
        service = config_pkg.load(path)
        app = create_app(settings_mod.Settings(config_path=path, log_level="CRITICAL"), service, strict=True)
    except ConfigError as exc:
        report.errors = list(exc.errors if isinstance(exc, ConfigErrors) else (exc,))
        return report
    report.service = service
    try:
        return _findings(report, service, app.config["PROPYLON_WARNINGS"], lint)
    finally:
        app.config["PROPYLON_DEPS"].close()  # the Designer checks many times in one process


def _findings(report: CheckReport, service: ServiceConfig, app_warnings: list[str], lint: bool) -> CheckReport:
    from app import settings as settings_mod
    from app.config.lint import lint as lint_service
    from app.config.namespaces import is_known
    from app.wiring import service_warnings, shared_state_warnings
    try:
        settings = settings_mod.Settings.from_env()
        workers = settings_mod.default_workers()
    except ValueError as exc:
        report.environment_error = str(exc)
        return report
    report.unimplemented = [(p, n) for p, n in service.ignored_namespaces if is_known(n)]
    report.unknown = [(p, n) for p, n in service.ignored_namespaces if not is_known(n)]
    report.warnings = (service_warnings(service) + list(app_warnings)
                       + shared_state_warnings(service, workers, settings.storage_url))
    if lint:
        report.lint = lint_service(service, workers, bool(settings.storage_url))
    return report
