"""security/bot-detector verdicts and config errors (krakend-botdetector's detector.go order)."""
from __future__ import annotations

import pytest

from app.errors import ConfigError
from app.security import botdetector

PATH = "extra_config.security/bot-detector"
#: KrakenD CE's conformance fixture.
FIXTURE = {"deny": ["a", "b"], "allow": ["c", "Pingdom.com_bot_version_1.1"],
           "patterns": ["(Pingdom.com_bot_version_).*", "(facebookexternalhit)/.*"]}


def settings(**overrides):
    return botdetector.parse({**FIXTURE, **overrides}, PATH)


@pytest.mark.parametrize("raw, user_agent, bot", [
    pytest.param(FIXTURE, "a", True, id="deny-exact"),
    pytest.param(FIXTURE, "b", True, id="deny-exact-2"),
    pytest.param(FIXTURE, "ab", False, id="deny-is-not-a-substring-match"),
    pytest.param(FIXTURE, "A", False, id="deny-is-case-sensitive"),
    pytest.param(FIXTURE, "c", False, id="allow"),
    pytest.param(FIXTURE, "Pingdom.com_bot_version_1.1", False, id="allow-beats-pattern"),
    pytest.param(FIXTURE, "Pingdom.com_bot_version_1.14", True, id="pattern"),
    pytest.param(FIXTURE, "facebookexternalhit/1.2.3", True, id="pattern-2"),
    pytest.param(FIXTURE, "Mozilla/5.0 (compatible; facebookexternalhit/1.1)", True, id="pattern-unanchored"),
    pytest.param(FIXTURE, "facebookexternalhit", False, id="pattern-needs-slash"),
    pytest.param(FIXTURE, "Mozilla/5.0 (X11; Linux x86_64)", False, id="browser"),
    pytest.param(FIXTURE, "", False, id="empty-is-not-a-bot-by-default"),
    pytest.param({**FIXTURE, "empty_user_agent_is_bot": True}, "", True, id="empty-is-a-bot-when-asked"),
    pytest.param({"allow": ["x"], "deny": ["x"]}, "x", False, id="allow-beats-deny"),
    pytest.param({"allow": [""], "empty_user_agent_is_bot": True}, "", True, id="empty-checked-before-allow"),
    pytest.param({"patterns": ["(?i)^curl/"]}, "CURL/8.0", True, id="re2-flags"),
    pytest.param({"patterns": ["^curl/"]}, "x curl/8.0", False, id="anchors-are-honoured"),
    pytest.param({}, "anything", False, id="empty-config"),
    # Repeated User-Agent lines reach WSGI joined by ","; KrakenD judges the first line.
    pytest.param(FIXTURE, "a,Mozilla/5.0", True, id="denied-first-of-repeated-lines"),
    pytest.param(FIXTURE, "Mozilla/5.0,a", False, id="denied-second-line-is-not-judged-exactly"),
    pytest.param({"empty_user_agent_is_bot": True}, ",Mozilla/5.0", True, id="empty-first-of-repeated-lines"),
    pytest.param({}, ",Mozilla/5.0", False, id="empty-first-line-is-no-bot-by-default"),
])
def test_verdicts(raw, user_agent, bot):
    assert botdetector.is_bot(botdetector.parse(raw, PATH), user_agent) is bot


@pytest.mark.parametrize("cache_size", [0, 1, 2, 100])
def test_the_cache_never_changes_a_verdict(cache_size):
    verdict = botdetector.build_verdict(settings(cache_size=cache_size))
    agents = ["a", "c", "Pingdom.com_bot_version_1.14", "Mozilla/5.0", "a", "facebookexternalhit/9", "c",
              "x" * (botdetector.CACHED_LENGTH + 1) + " facebookexternalhit/1", "Mozilla/5.0", ""]
    expected = [botdetector.is_bot(settings(), ua) for ua in agents]
    assert [verdict(ua) for ua in agents] == expected
    assert [verdict(ua) for ua in agents] == expected


def test_the_cache_is_an_lru_of_cache_size_verdicts():
    calls: list[str] = []
    counted = botdetector.BotDetectorSettings(patterns=(_Recording(calls),), cache_size=2)
    verdict = botdetector.build_verdict(counted)
    for user_agent in ["one", "two", "one", "three", "one", "two"]:
        verdict(user_agent)
    # "one" stays cached (used again before "three" arrives); "two" was evicted by "three".
    assert calls == ["one", "two", "three", "two"]


class _Recording:
    """A stand-in pattern that records the User-Agents it is asked about."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def search(self, text: str) -> None:
        self.calls.append(text)


@pytest.mark.parametrize("raw, path", [
    ({"patterns": ["ok", "(?<=bad)lookbehind"]}, "patterns[1]"),
    ({"patterns": ["(unclosed"]}, "patterns[0]"),
    ({"patterns": "bot"}, "patterns"),
    ({"deny": ["a", 1]}, "deny[1]"),
    ({"allow": {"c": True}}, "allow"),
    ({"cache_size": -1}, "cache_size"),
    ({"cache_size": "10"}, "cache_size"),
    ({"empty_user_agent_is_bot": "true"}, "empty_user_agent_is_bot"),
], ids=lambda v: str(v))
def test_bad_values_name_their_json_path(raw, path):
    with pytest.raises(ConfigError) as caught:
        botdetector.parse(raw, PATH)
    assert caught.value.path == f"{PATH}.{path}"


def test_a_bad_pattern_says_why():
    with pytest.raises(ConfigError, match=r"RE2 syntax.*invalid perl operator"):
        botdetector.parse({"patterns": ["(?<=a)b"]}, PATH)


def test_cache_size_may_be_a_whole_json_float():
    assert botdetector.parse({"cache_size": 100.0}, PATH).cache_size == 100
