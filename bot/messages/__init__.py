"""Block Kit builders: plain functions from our objects to Slack's JSON, nothing sent from here."""
