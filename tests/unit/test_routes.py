"""app.router.routes: to_werkzeug, clean_path, fixed_path, check_conflicts (reference §1.5, §2.1, §2.9)."""
from __future__ import annotations

from typing import Optional

import pytest

from app.errors import ConfigError
from app.router.routes import Route, check_conflicts, clean_path, fixed_path, to_werkzeug


@pytest.mark.parametrize(("path", "names", "expected"), [
    ("/users/{id}", ["p0"], "/users/<p0>"),
    ("/a/{x}/b/{y}", ["p0", "p1"], "/a/<p0>/b/<p1>"),
    ("/static", [], "/static"),
    ("/file.{ext}", ["p0"], "/file.<p0>"),
    ("/{a}/", ["first"], "/<first>/"),
], ids=["one", "two", "none", "inside-segment", "trailing-slash"])
def test_to_werkzeug(path: str, names: list[str], expected: str) -> None:
    assert to_werkzeug(path, names) == expected


CLEAN = [
    ("", "/"),
    ("/", "/"),
    ("a/b", "/a/b"),
    ("//a//b", "/a/b"),
    ("///a", "/a"),
    ("//", "/"),
    ("/a/./b", "/a/b"),
    ("/a/../b", "/b"),
    ("//a/../static", "/static"),
    ("/../x", "/x"),
    ("..", "/"),
    ("/a/b/..", "/a"),
    ("/a/b/", "/a/b/"),
    ("a/b/../c/", "/a/c/"),
    ("/a//b//", "/a/b/"),
]


@pytest.mark.parametrize(("path", "expected"), CLEAN, ids=[repr(p) for p, _ in CLEAN])
def test_clean_path(path: str, expected: str) -> None:
    assert clean_path(path) == expected


ROUTES = (
    Route("GET", "/static", "endpoints[0]"),
    Route("GET", "/users/{id}", "endpoints[1]"),
    Route("GET", "/a/b/", "endpoints[2]"),
    Route("POST", "/items", "endpoints[3]"),
    Route("GET", "/Mixed/Case", "endpoints[4]"),
    Route("GET", "/", "endpoints[5]"),
)

FIXED: list[tuple[str, str, Optional[str]]] = [
    ("GET", "/StAtic", "/static"),
    ("GET", "/static/", "/static"),
    ("GET", "//x/../static", "/static"),
    ("GET", "/./STATIC/", "/static"),
    ("GET", "/USERS/Bob", "/users/Bob"),          # the parameter keeps the client's case
    ("GET", "/a/b", "/a/b/"),                     # trailing slash added back
    ("GET", "/A/B/", "/a/b/"),
    ("GET", "/mixed/case", "/Mixed/Case"),
    ("POST", "/ITEMS", "/items"),
    ("GET", "//", "/"),
    ("GET", "/static", "/static"),
    ("GET", "/items", None),                      # other method
    ("POST", "/static", None),
    ("GET", "/nope", None),
    ("GET", "/users", None),                      # too short
    ("GET", "/users/1/2", None),                  # too long
]


@pytest.mark.parametrize(("method", "path", "expected"), FIXED, ids=[f"{m} {p}" for m, p, _ in FIXED])
def test_fixed_path(method: str, path: str, expected: Optional[str]) -> None:
    assert fixed_path(ROUTES, method, path) == expected


ACCEPTED = [
    [Route("GET", "/user/{id}"), Route("GET", "/user/new")],
    [Route("GET", "/user/{id}"), Route("GET", "/user/{id}/posts")],
    [Route("GET", "/user/{id}"), Route("POST", "/user/{uid}/x")],
    [Route("GET", "/a"), Route("POST", "/a")],
    [Route("GET", "/a"), Route("GET", "/a/")],
    [Route("GET", "/a/{x}/b"), Route("GET", "/c/{y}/b")],
    [Route("GET", "/a/{x}/{y}"), Route("GET", "/a/{x}/{y}/z")],
]


@pytest.mark.parametrize("routes", ACCEPTED, ids=[
    "static-and-param-siblings", "same-param-deeper", "different-methods", "same-path-two-methods",
    "trailing-slash-variant", "different-prefixes", "same-names-nested",
])
def test_check_conflicts_accepts(routes: list[Route]) -> None:
    check_conflicts(routes)


REJECTED = [
    ([Route("GET", "/a", "endpoints[0]"), Route("GET", "/a", "endpoints[1]")],
     "endpoints[1]", "GET /a is already defined at endpoints[0]"),
    ([Route("GET", "/user/{id}", "endpoints[0]"), Route("GET", "/user/{uid}/x", "endpoints[1]")],
     "endpoints[1]", "parameter {uid} conflicts with {id} of /user/{id} at the same position (endpoints[0])"),
    ([Route("PUT", "/a/{x}/{y}", "endpoints[0]"), Route("PUT", "/a/{x}/{z}", "endpoints[1]")],
     "endpoints[1]", "parameter {z} conflicts with {y}"),
    ([Route("GET", "/a/{x}/c/{y}", "e0"), Route("GET", "/a/{w}/c", "e1")], "e1", "parameter {w} conflicts with {x}"),
]


@pytest.mark.parametrize(("routes", "origin", "fragment"), REJECTED, ids=[
    "duplicate", "sibling-params", "nested-sibling-params", "first-level-differs",
])
def test_check_conflicts_rejects(routes: list[Route], origin: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_conflicts(routes)
    assert info.value.path == origin
    assert fragment in info.value.message
