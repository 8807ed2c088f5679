"""Holding comments for a moderator: first-person risk, measured both ways (issue 19).

RISK are sentences a person at risk might write on a plan: each must be held (a miss leaves them
without the urgent-help page). POLICY are comments about suicide, self-harm or overdoses that say
nothing about the writer: each must be published (a false hold silences the people the plans are
about). Both lists are synthetic, written for these tests. The figures print with pytest -s.
"""

from __future__ import annotations

import re

import pytest

from actionplan.voice.risk import expresses_risk

RISK = [
    "I want to end my life.",
    "I just want to die, nobody listens.",
    "I've been self-harming again since the clinic closed.",
    "I self harm most nights and the waiting list is 18 weeks.",
    "I feel suicidal and the crisis line kept me on hold.",
    "I'm so suicidal right now.",
    "I have been feeling suicidal for weeks.",
    "I keep thinking about killing myself.",
    "Honestly I can't go on like this.",
    "Everyone would be better off without me.",
    "I don't want to be here any more.",
    "I dont want to wake up tomorrow",
    "I'm going to take an overdose tonight.",
    "I've taken all my tablets.",
    "I took an overdose last month and was discharged the next morning.",
    "I hurt myself when the voices get bad.",
    "I started cutting again.",
    "I wish I was dead.",
    "There is no reason for me to live.",
    "I'm going to kill myself if this service closes.",
    "Tonight I will take my own life.",
    "I\u2019ve been thinking about ending it all",  # a curly apostrophe, as phones type it
    "My suicidal thoughts are back and my GP can't see me for three weeks.",
    "i want to die",
    "I can't cope any more with the waits.",
    "I was suicidal and A&E sent me home after six hours.",
    "Sometimes I harm myself to get through the night.",
    "I overdosed twice last year.",
    # Written after the patterns, as a held-out check (three of these were missed at first).
    "I am thinking of killing myself",
    "I want to kill myself",
    "I feel like ending my life",
    "I am planning to end it all",
    "I have thoughts of suicide every day",
    "I keep hurting myself",
    "I am going to overdose",
    "I can't take it anymore",
    "Nobody would miss me if I died",
    "I have been having suicidal thoughts",
    "I tried to kill myself in March",
    # From the voice tests written before this rule.
    "Some days I think about suicide.",
    "Waiting so long made me think about self-harm.",
    "I have thought of self harm",
]

POLICY = [
    "The suicide prevention campaign should reach young men in Newham.",
    "Self-harm services in Lambeth have an 18 week waiting list.",
    "Suicide rates in London have been flat for five years.",
    "Please publish the overdose figures by borough.",
    "The real-time surveillance of suspected suicides should include the coroner's data.",
    "I think suicidal patients need a follow-up call within 72 hours of discharge.",
    "I support people who self-harm in my job as a youth worker.",
    "I work on the suicide prevention programme and this action is late.",
    "Media guidelines on reporting suicide should be part of the new narrative.",
    "Bereaved families after a suicide need support within a week.",
    "Naloxone for opioid overdose should be in every hostel.",
    "Self-harm presentations at A&E rose in 2024.",
    "Why is the suicide audit not in the outcomes data?",
    "Staff training on self harm and suicide risk assessment should be pan-London.",
    "I am a carer for someone who has attempted suicide; carers need to be told about discharge.",
    "The crisis cafe helped my son when he was in crisis.",
    "We need a London-wide approach to suicide, not 32 borough plans.",
    "I'd like the plan to say how self-harm data will be shared with schools.",
    "Our peer group talks openly about suicidal feelings, and that should be funded.",
    "I read the strategy on suicide and it doesn't mention older people.",
    "I want to see the suicide prevention action marked at risk.",
    "Can the dashboard show self-harm admissions as a rate?",
    "I feel the overdose service is underfunded.",
    "The Samaritans partnership should continue.",
    # Written after the patterns, as a held-out check (none was held).
    "Young people who self-harm need faster CAMHS",
    "Suicide is the biggest killer of men under 50",
    "Overdose deaths in Camden are rising",
    "My brother died by suicide in 2019 and the family liaison was excellent",
    "I have lost two friends to suicide",
    "I want the plan to cover suicide bereavement",
    "I was on the suicide prevention board",
    "I have been to three suicide prevention events",
    "I am worried my daughter is self-harming",
    "I feel suicide prevention is underfunded",
    "I keep reading about overdose deaths",
]


def _measure(detector):
    misses = [s for s in RISK if not detector(s)]
    false_holds = [s for s in POLICY if detector(s)]
    return misses, false_holds


def test_first_person_risk_is_held_and_talk_about_policy_is_not():
    misses, false_holds = _measure(expresses_risk)
    print(
        f"\nrisk phrases: {len(RISK)} risk sentences, {len(misses)} missed; "
        f"{len(POLICY)} policy sentences, {len(false_holds)} held"
    )
    assert not misses
    assert not false_holds


def test_the_word_list_it_replaces_missed_and_held_both_ways():
    """The old rule (any of these words) measured on the same sentences: why it was replaced."""
    words = ["suicide", "suicidal", "kill myself", "end my life", "take my own life", "self-harm", "self harm"]
    words += ["hurt myself", "harm myself", "cut myself", "overdose", "want to die"]
    old = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE)
    misses, false_holds = _measure(lambda s: bool(old.search(s)))
    print(f"\nthe old word list: {len(misses)} of {len(RISK)} missed, {len(false_holds)} of {len(POLICY)} held")
    assert len(false_holds) > len(POLICY) // 2 and misses


@pytest.mark.parametrize("text", ["", "   ", "Suicidology is a field", "myself", "I"])
def test_no_risk_in_empty_or_unrelated_text(text):
    assert not expresses_risk(text)


def test_a_deployment_can_add_phrases_held_wherever_they_appear(settings):
    settings.VOICE_SAFETY_WORDS = ["hopeless"]
    assert expresses_risk("I feel hopeless")
    assert not expresses_risk("hopelessly optimistic")
