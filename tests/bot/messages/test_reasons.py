"""Why two schools were paired, as each reader sees it (bot/messages/reasons.py)."""
from __future__ import annotations

from bot.messages.reasons import because
from matching.explain import explain

NEED = "Our TAs need help with SEND provision and post-16 careers advice"
OFFER = "We train teaching assistants (TAs) in SEND support"


def engine_line(**overrides):
    values = dict(need_theme="post16_careers", offer_theme="send", shared_terms=["tas", "send"], same_la="Surrey",
                  distance_km=12.4, need_school_name="Colgate Primary School", fsm_percent=35.0, times_given=2,
                  cross_trust=True)
    values.update(overrides)
    return explain(**values)


def test_schools_never_see_the_free_school_meals_share_and_leads_do():
    line = engine_line()
    assert "35 % of pupils on free school meals" in line  # the engine's own line has it
    for_schools = because(line, NEED, OFFER)
    assert "free school meals" not in for_schools and "35" not in for_schools
    assert "Colgate Primary School has helped other schools twice" in for_schools
    assert "Colgate Primary School has 35 % of pupils on free school meals" in because(line, NEED, OFFER, for_leads=True)


def test_quoted_terms_are_the_words_people_wrote_and_themes_have_their_one_label():
    said = because(engine_line(), NEED, OFFER)
    assert "“TAs” and “SEND”" in said and "'tas'" not in said
    assert "about sixth form and careers and SEND and inclusion" in said
    assert "post-16 and careers" not in said
    same = because(engine_line(need_theme="attendance", offer_theme="attendance", shared_terms=["absenc"]),
                   "persistent Absence in Year 9", "")
    assert same.startswith("both about attendance and both mention “Absence”")


def test_what_people_wrote_is_escaped_and_an_unknown_term_is_kept():
    said = because(engine_line(shared_terms=["tricky"], need_school_name="A <!channel> & B"), "x", "y")
    assert "“tricky”" in said and "&lt;!channel&gt; &amp; B" in said
    assert because("", NEED, OFFER) == "" and because(None) == ""
