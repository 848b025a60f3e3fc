"""`collab demo` (the README's first command): the shipped network is matched and digests are shown."""
import io
import re

from bot.cli.demo import run_demo


def test_demo_matches_the_shipped_network_and_shows_digests(tmp_path):
    out = io.StringIO()
    assert run_demo(f"sqlite:///{tmp_path / 'demo.db'}", out=out) == 0
    text = out.getvalue()
    assert "Demo network: 24 schools" in text
    proposed = int(re.search(r"(\d+) pairings proposed", text).group(1))
    assert proposed > 0
    assert len(re.findall(r"^\s*\d+\. .+ needs: ", text, flags=re.M)) == proposed
    assert text.count("Why: ") == proposed  # every proposal says why
    assert text.count("--- ") == 3 and "YOUR COLLAB WEEK" in text
    # Issue 7: the whole story, in a deputy head's words: how likely each fit is, what was left and why,
    # and where the network needs offers.
    assert len(re.findall(r"^\s+Why: .*\(likely fit: \d+ in 10\)$", text, flags=re.M)) == proposed
    left = int(re.search(r"(\d+) needs were not paired this round", text).group(1))
    assert proposed + left == int(re.search(r"Matching round: (\d+) open needs", text).group(1))
    assert "Where the network needs offers" in text and re.search(r"\d+ needs? waiting, \d+ places? free", text)
    # The README's own story: the deputy head's "persistent absence in Year 9" need is met by the
    # attendance officer's offer (two places: a school with more pupils on free school meals,
    # whose need names persistent absence too, is served as well, and first).
    story = re.search(r"Beechwood School needs: Need help with persistent absence in Year 9.*\n"
                      r"\s+→ The Windsor Boys' School offers: Our attendance officer", text)
    assert story, "the headline pairing is missing from the demo"
    assert re.search(r"Haybrook College needs: .*\n\s+→ The Windsor Boys' School offers: Our attendance officer", text)
    assert "nothing was sent to Slack" in text
