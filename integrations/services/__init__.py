"""Integrations' services: what its API, admin, receivers and tasks call.

* ``outbox``: one delivery per endpoint and event, written with the data it reports; redaction after erasure;
* ``sending``: the signed POST, its outcome, retries with backoff;
* ``upkeep``: the sweeper and resending;
* ``endpoints``: creating and changing endpoints, their write-only secrets.
"""
