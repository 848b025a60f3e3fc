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
    assert "nothing was sent to Slack" in text
