from django.dispatch import Signal

#: Sent inside the transaction that marks an image ``done``, with ``image`` and ``results``: the
#: ``StoredResults`` it now holds (recognition.services.stored), or None (read them then). Receivers
#: that write rows (an outbox) commit or roll back with the results.
image_analysed = Signal()

#: Sent inside the transaction that records a badge + face check, with ``verification``.
verification_done = Signal()

#: Sent inside the erasure's transaction, once the person's rows are gone or redacted, with
#: ``reference`` (the pseudonym that replaces them), ``image_ids`` (images they were found in, still
#: there) and ``verification_ids`` (checks of their badge, now carrying the pseudonym). Receivers that
#: keep copies of the person's data (outgoing documents) redact them in the same transaction.
person_erased = Signal()

#: Sent inside the retention purge's transaction, before the rows go, with ``verification_ids``: checks
#: old enough to be forgotten. Receivers that keep copies of them (outgoing documents) drop those too.
verifications_purged = Signal()
