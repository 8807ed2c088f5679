"""Does a comment say its author is at risk? First-person risk phrases, not words (docs/voice.md).

A comment is held for a moderator, and its author shown where to get urgent help, when it says
that the person writing is thinking of or acting on suicide or self-harm: "I want to end my life",
"I've been self-harming again", "everyone would be better off without me". A comment that only
talks about those subjects ("the suicide prevention campaign should reach young men", "self-harm
services in Lambeth have a waiting list") is a comment on a plan like any other: holding it silenced
exactly the people the plans are about. The examples this is measured against, both ways, are in
tests/actionplan/voice/test_risk.py; a deployment can add phrases of its own (VOICE_SAFETY_WORDS,
held wherever they appear).
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.conf import settings

_ACTS = (
    r"(?:kill|killing|killed|hurt|hurting|harm|harming|harmed|cut|cutting|burn|burning|burnt|burned|"
    r"hang|hanging|poison|poisoning|starve|starving)"
)
# "I", "I'm", "I've been", "I keep", "I have been feeling"...: the person writing, then up to three
# small words that keep it about them (never "I think", "I support": "I support suicidal people").
_GLUE = (
    r"(?:am|was|were|have|has|had|been|being|feel|feels|felt|feeling|keep|kept|started|start|starting|still|so|"
    r"really|very|always|often|just|again|currently|now|constantly|sometimes|also|quite|pretty|getting|get|got|"
    r"going|gonna|to|like|would|will|might|actually|literally|seriously|properly|having)"
)
_I = rf"\bi(?:'m|'ve|'d|'ll)?(?:\s+{_GLUE}){{0,3}}\s+"

PATTERNS = [
    # Acts on oneself: "kill myself", "cutting myself", "hurt myself".
    rf"\b{_ACTS}\s+myself\b",
    # "end my life", "take my own life", "ending it all".
    r"\b(?:end|ending|ended|take|taking|took)\s+my\s+(?:own\s+)?life\b",
    r"\bend(?:ing)?\s+it\s+all\b",
    # "I feel suicidal", "I'm so suicidal", "I have been feeling suicidal", "I was suicidal".
    rf"{_I}suicidal\b",
    # "I've been self-harming", "I self harm", "I started cutting again".
    rf"{_I}(?:self[- ]?harm(?:ing|ed)?|cutting)\b",
    r"\bmy\s+(?:suicidal\s+(?:thoughts|feelings)|self[- ]?harm(?:ing)?\s+(?:is|has|got|gets))\b",
    # "I want to die", "I wish I was dead", "I wish I wasn't here".
    rf"{_I}(?:to\s+die|want\s+to\s+die|wish\s+i\s+(?:was|were)\s+dead|wish\s+i\s+(?:wasn't|was\s+not)\s+(?:here|alive))\b",
    r"\bi\s+(?:just\s+|really\s+)?(?:don't|do\s+not|dont)\s+want\s+to\s+(?:be\s+here|live|be\s+alive|wake\s+up|exist)\b",
    r"\bi\s+(?:just\s+|really\s+|honestly\s+)?(?:can't|cannot|cant)\s+(?:go\s+on|carry\s+on|cope\s+any\s*more|take\s+(?:it|this)\s+any\s*more|do\s+this\s+any\s*more)\b",
    r"\b(?:better\s+off\s+without\s+me|no\s+(?:reason|point)\s+(?:for\s+me\s+)?(?:to\s+live|in\s+living|in\s+going\s+on))\b",
    # "I've taken an overdose", "I'm going to take an overdose", "I overdosed".
    rf"{_I}(?:taken|took|take)\s+(?:an\s+)?overdose\b",
    rf"{_I}overdos(?:e|ed|ing)\b",
    r"\b(?:nobody|no\s+one|no-one)\s+would\s+(?:miss\s+me|care\s+if\s+i|notice\s+if\s+i)\b",
    r"\b(?:taken|took|swallowed)\s+all\s+(?:of\s+)?my\s+(?:tablets|pills|meds|medication)\b",
    # "I keep thinking about suicide", "I've been having thoughts of ending it".
    r"\bmade\s+me\s+(?:think\s+(?:about|of)|want\s+to)\s+"
    r"(?:self[- ]?harm|suicide|kill(?:ing)?\s+myself|die|end\s+(?:it|my\s+life))",
    rf"{_I}(?:think|thinking|thoughts|thought)\s+(?:about|of)\s+"
    r"(?:suicide|self[- ]?harm(?:ing)?|killing\s+myself|ending\s+(?:it|my\s+life)|dying)\b(?!\s+prevention)",
]


@lru_cache(maxsize=8)
def _pattern(extra: tuple[str, ...]) -> re.Pattern[str]:
    parts = list(PATTERNS)
    parts += [
        r"(?<!\w)" + r"\s+".join(re.escape(w) for w in word.split()) + r"(?!\w)" for word in extra if word.strip()
    ]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def _normalise(text: str) -> str:
    # Curly apostrophes and runs of spaces, as people type them on phones.
    return re.sub(r"\s+", " ", (text or "").replace("\u2019", "'").replace("\u2018", "'"))


def expresses_risk(text: str) -> bool:
    """True when the text says its author is thinking of or acting on suicide or self-harm."""
    return bool(_pattern(tuple(settings.VOICE_SAFETY_WORDS)).search(_normalise(text)))
