"""Recognition services: what API views, admin actions, commands and tasks call.

One module per concern; each public function is typed and keyword-only, owns its
decisions and writes the audit rows for the biometric data it changes:

* ``ingest``: validating uploads, duplicates, queuing analysis;
* ``analysis``: claiming, running and storing analysis, re-analysis, the sweeper;
* ``results``: engine dataclasses to rows (pure);
* ``people``: people, enrolment, reference faces;
* ``review``: confirming, rejecting, reassigning and flagging faces;
* ``erasure``: deleting images and reference faces, erasing people;
* ``matching``: the synchronous search, verify and compare;
* ``collections``, ``files``, ``queue``: what the others share.
"""
