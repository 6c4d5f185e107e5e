"""Digests and alerts: who is told what, and how it reaches them.

    select.py   which stories for whom: due digests, a recipient's unsent matches, stories
    render.py   a digest as subject, HTML and text, in Arabic or English (pure)
    run.py      `run_digests`: due digests built into the outbox per recipient, then sent
    send.py     outbox delivery through SMTP, once; operators' alerts

The outbox itself (exactly once, across processes) is storage's: `repo.outbox`.
"""
