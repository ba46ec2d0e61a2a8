"""The README's namespace table lists every KrakenD namespace with the status the code gives it."""
from __future__ import annotations

import re
from pathlib import Path

from app.config.namespaces import IMPLEMENTED, KRAKEND

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+?) \|", re.MULTILINE)
STATUSES = {"implemented", "implemented, with differences", "not implemented"}


def readme_table() -> dict[str, str]:
    text = README.read_text()
    start, end = text.index("<!-- namespaces:begin -->"), text.index("<!-- namespaces:end -->")
    rows = ROW.findall(text[start:end])
    table = dict(rows)
    assert len(table) == len(rows), "a namespace is listed twice"
    return table


def test_every_krakend_namespace_is_listed_once() -> None:
    assert set(readme_table()) == set(KRAKEND)


def test_statuses_match_what_the_code_implements() -> None:
    implemented = set().union(*IMPLEMENTED.values())
    for namespace, status in readme_table().items():
        assert status in STATUSES, f"{namespace}: unknown status {status!r}"
        assert (status != "not implemented") == (namespace in implemented), \
            f"{namespace}: README says {status!r}"
