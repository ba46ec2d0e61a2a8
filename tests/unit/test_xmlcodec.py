"""app.proxy.xmlcodec: backend XML -> data (krakend-xml / mxj mapping) and data -> XML (mxj writer)."""
from __future__ import annotations

import tracemalloc
from typing import Any
from xml.etree import ElementTree

import pytest

from app.jsoncodec import RawNumber, loads as json_loads
from app.proxy import xmlcodec
from app.proxy.decoding import IMPLEMENTED, decoder_for

DECODE: list[tuple[str, bytes, dict[str, Any]]] = [
    ("leaf-text", b"<a>hi</a>", {"a": "hi"}),
    ("declaration-and-whitespace", b'<?xml version="1.0" encoding="UTF-8"?>\n<a>\n  <b> x </b>\n</a>\n',
     {"a": {"b": "x"}}),
    ("attributes-as-dash-keys", b'<user type="admin" id="7"><name>E</name></user>',
     {"user": {"-type": "admin", "-id": "7", "name": "E"}}),
    ("attribute-values-kept-verbatim", b'<a v="  spaced  "/>', {"a": {"-v": "  spaced  "}}),
    ("text-with-attributes-under-text-key", b'<price currency="EUR">12.50</price>',
     {"price": {"-currency": "EUR", "#text": "12.50"}}),
    ("text-beside-children", b"<a>note<b>1</b></a>", {"a": {"b": "1", "#text": "note"}}),
    ("repeated-elements-become-list", b"<l><i>1</i><i>2</i><j>3</j><i>4</i></l>",
     {"l": {"i": ["1", "2", "4"], "j": "3"}}),
    ("repeated-complex-elements", b'<p><e w="h"><a>x</a></e><e w="w"><a>y</a></e></p>',
     {"p": {"e": [{"-w": "h", "a": "x"}, {"-w": "w", "a": "y"}]}}),
    ("empty-element-is-empty-string", b"<a><b/><c></c><d>  </d></a>", {"a": {"b": "", "c": "", "d": ""}}),
    ("empty-root", b"<a/>", {"a": ""}),
    ("all-leaves-are-strings", b"<n><i>42</i><f>1.5</f><t>true</t></n>", {"n": {"i": "42", "f": "1.5", "t": "true"}}),
    ("namespace-prefixes-dropped", b'<s:r xmlns:s="urn:s" xmlns="urn:d"><s:i>1</s:i><i>2</i></s:r>',
     {"r": {"-s": "urn:s", "-xmlns": "urn:d", "i": ["1", "2"]}}),
    ("prefixed-attribute", b'<a xml:lang="en" x:k="v" xmlns:x="urn:x"/>',
     {"a": {"-lang": "en", "-k": "v", "-x": "urn:x"}}),
    ("escapes-and-cdata", b"<a><b>&lt;&amp;&gt;&quot;&apos;&#233;</b><c><![CDATA[<raw> & ]]></c></a>",
     {"a": {"b": "<&>\"'\u00e9", "c": "<raw> &"}}),
    ("comments-and-pis-ignored", b"<?pi x?><a><!-- no --><b>1</b></a>", {"a": {"b": "1"}}),
    ("latin1-declared", '<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>'.encode("latin-1"), {"a": "\u00e9"}),
    ("doctype-without-entities", b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a>1</a>', {"a": "1"}),
]


@pytest.mark.parametrize(("body", "expected"), [d[1:] for d in DECODE], ids=[d[0] for d in DECODE])
def test_decode(body: bytes, expected: dict[str, Any]) -> None:
    assert decoder_for("xml", False)(body) == expected


def test_is_collection_wraps_the_whole_map() -> None:
    body = b"<people><p>a</p><p>b</p></people>"
    assert decoder_for("xml", True)(body) == {"collection": {"people": {"p": ["a", "b"]}}}


def test_xml_is_listed_as_implemented_and_rss_is_not() -> None:
    assert "xml" in IMPLEMENTED and "rss" not in IMPLEMENTED


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY e0 "lol">'
                  + b"".join(b'<!ENTITY e%d "%s">' % (i, b"&e%d;" % (i - 1) * 10) for i in range(1, 10))
                  + b"]><l>&e9;</l>")

REFUSED: list[tuple[str, bytes]] = [
    ("billion-laughs", BILLION_LAUGHS),
    ("internal-entity", b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'),
    ("external-entity-file", b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'),
    ("external-parameter-entity", b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><a/>'),
    ("undefined-entity", b"<a>&nbsp;</a>"),
    ("too-deep", b"<a>" * (xmlcodec.MAX_DEPTH + 1) + b"</a>" * (xmlcodec.MAX_DEPTH + 1)),
    ("deep-and-unclosed", b"<a>" * 3_000_000),
    ("two-roots", b"<a/><b/>"),
    ("unclosed", b"<a><b></a>"),
    ("empty-body", b""),
    ("json", b'{"a": 1}'),
    ("a-number", b"3"),
    ("unknown-encoding", b'<?xml version="1.0" encoding="x-nope"?><a/>'),
]


@pytest.mark.parametrize("body", [r[1] for r in REFUSED], ids=[r[0] for r in REFUSED])
@pytest.mark.parametrize("is_collection", [False, True], ids=["object", "collection"])
def test_bad_documents_raise_value_error(body: bytes, is_collection: bool) -> None:
    with pytest.raises(ValueError):
        decoder_for("xml", is_collection)(body)


def test_max_depth_is_accepted() -> None:
    body = b"<a>" * xmlcodec.MAX_DEPTH + b"x" + b"</a>" * xmlcodec.MAX_DEPTH
    data: Any = xmlcodec.loads(body)
    depth = 0
    while isinstance(data, dict):
        data, depth = data["a"], depth + 1
    assert (depth, data) == (xmlcodec.MAX_DEPTH, "x")


ENCODE: list[tuple[str, Any, str]] = [
    ("single-key-is-root", {"user": {"-type": "admin", "name": "Elliot"}},
     '<user type="admin"><name>Elliot</name></user>'),
    ("several-keys-root-doc", {"b": 1, "a": "x"}, "<doc><a>x</a><b>1</b></doc>"),
    ("empty-data", {}, "<doc/>"),
    ("single-scalar", {"content": "tupu"}, "<content>tupu</content>"),
    ("keys-sorted-bytewise", {"b": "", "B": "", "a": "", "_": ""}, "<doc><B/><_/><a/><b/></doc>"),
    ("attributes-sorted-first", {"e": {"z": "1", "-b": "2", "-a": 3}}, '<e a="3" b="2"><z>1</z></e>'),
    ("only-attributes", {"e": {"-a": "1"}}, '<e a="1"/>'),
    ("text-with-attributes", {"p": {"-c": "EUR", "#text": "1.5"}}, '<p c="EUR">1.5</p>'),
    ("text-before-children", {"p": {"#text": "t", "b": "x"}}, "<p>t<b>x</b></p>"),
    ("empty-text", {"p": {"-c": "x", "#text": ""}}, '<p c="x"></p>'),
    ("numbers-keep-literal", {"d": {"f": RawNumber("1.0"), "e": RawNumber("1e5"), "i": 42, "n": -3}},
     "<d><e>1e5</e><f>1.0</f><i>42</i><n>-3</n></d>"),
    ("booleans", {"d": {"t": True, "f": False}}, "<d><f>false</f><t>true</t></d>"),
    ("null-empty-string-empty-object", {"d": {"n": None, "s": "", "o": {}}}, "<d><n/><o/><s/></d>"),
    ("list-repeats-element", {"d": {"i": [1, "a", None]}}, "<d><i>1</i><i>a</i><i/></d>"),
    ("list-of-objects", {"d": {"p": [{"a": 1}, {"a": 2}]}}, "<d><p><a>1</a></p><p><a>2</a></p></d>"),
    ("nested-lists-flatten", {"d": {"i": [[1, 2], [3]]}}, "<d><i>1</i><i>2</i><i>3</i></d>"),
    ("empty-list", {"d": {"i": []}}, "<d><i/></d>"),
    ("top-level-list-wrapped-in-doc", {"collection": [{"a": 1}, {"a": 2}]},
     "<doc><collection><a>1</a></collection><collection><a>2</a></collection></doc>"),
    ("special-characters-escaped", {"s": "<a href='x'>&\"</a>"},
     "<s>&lt;a href=&apos;x&apos;&gt;&amp;&quot;&lt;/a&gt;</s>"),
    ("attribute-escaped", {"e": {"-v": 'a"b<&'}}, '<e v="a&quot;b&lt;&amp;"/>'),
    ("unicode-kept", {"s": "caf\u00e9 \u2713 \U0001f600"}, "<s>caf\u00e9 \u2713 \U0001f600</s>"),
    ("invalid-xml-chars-replaced", {"s": "a\x00b\x1bc"}, "<s>a\ufffdb\ufffdc</s>"),
    ("invalid-names-sanitized", {"d": {"1st": 1, "a b": 2, "x<y": 3, "": 4}},
     "<d><_>4</_><_1st>1</_1st><a_b>2</a_b><x_y>3</x_y></d>"),
    ("dash-alone-is-an-element", {"d": {"-": "x"}}, "<d><_->x</_-></d>"),
    ("colons-replaced-for-namespace-aware-readers", {"d": {"dc:title": "t", "xmlns:x": "1", "-xml:lang": "en"}},
     '<d xml_lang="en"><dc_title>t</dc_title><xmlns_x>1</xmlns_x></d>'),
    ("floats-as-go", {"d": {"a": 1e6, "b": 0.5, "c": 1234567.0}}, "<d><a>1e+06</a><b>0.5</b><c>1.234567e+06</c></d>"),
]


@pytest.mark.parametrize(("data", "expected"), [e[1:] for e in ENCODE], ids=[e[0] for e in ENCODE])
def test_encode(data: Any, expected: str) -> None:
    assert xmlcodec.dumps(data).decode() == expected


def test_krakend_xml_render_example() -> None:
    """krakend-xml gin/render_test.go."""
    data = {"a": {"content": "supu & tupu"}, "content": "tupu", "foo": 42}
    expected = b"<doc><a><content>supu &amp; tupu</content></a><content>tupu</content><foo>42</foo></doc>"
    assert xmlcodec.dumps(data) == expected


def test_json_numbers_round_trip_into_xml() -> None:
    data = json_loads(b'{"v": {"big": 123456789012345678901234567890, "f": 1.50, "e": -0}}')
    assert xmlcodec.dumps(data) == b"<v><big>123456789012345678901234567890</big><e>-0</e><f>1.50</f></v>"


def _nested(levels: int) -> dict[str, Any]:
    data: dict[str, Any] = {"leaf": "x"}
    for _ in range(levels):
        data = {"n": data}
    return data


@pytest.mark.parametrize("data", [
    {"e": {"-a": {"x": 1}}}, {"e": {"-a": [1]}}, {"e": {"-a": None}}, {"e": {"#text": {"x": 1}}},
    _nested(xmlcodec.MAX_DEPTH + 5), {"e": {"-a b": "1", "-a_b": "2"}}, {"e": {"-<": "1", "->": "2"}},
], ids=["object-attribute", "list-attribute", "null-attribute", "object-text", "too-deep",
        "attributes-sanitized-to-one-name", "attributes-both-underscore"])
def test_unwritable_data_raises(data: Any) -> None:
    with pytest.raises(xmlcodec.XMLEncodeError):
        xmlcodec.dumps(data)


@pytest.mark.parametrize("data", [
    {"dc:title": "t"}, {"xmlns:x": "1"}, {"d": {"-p:a": "1", "-q:a": "2"}}, {"d": {"a:b": {"-xmlns:": "v"}}},
    {"d": {"1": 1, "-1": 2, "-_1": 3}},
], ids=["prefixed-element", "xmlns-element", "prefixed-attributes", "empty-xmlns-prefix", "digit-names"])
def test_output_is_namespace_well_formed_or_refused(data: Any) -> None:
    try:
        body = xmlcodec.dumps(data)
    except xmlcodec.XMLEncodeError:
        return
    ElementTree.fromstring(body)  # namespace-aware: an undeclared prefix or a repeated attribute raises


def test_long_keys_are_not_kept_in_the_name_cache() -> None:
    """Keys come from backends: a cache of 4096 arbitrary keys could hold gigabytes."""
    tracemalloc.start()
    try:
        for index in range(20):
            xmlcodec.dumps({"d": {f"k{index}" + "x" * 100_000: 1, f"<{index}>" + "y" * 100_000: 2}})
        retained, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert retained < 1_000_000
