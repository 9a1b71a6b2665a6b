from django.dispatch import Signal

#: Sent inside the transaction that marks an image ``done``, with ``image``.
#: Receivers that write rows (an outbox) commit or roll back with the results.
image_analysed = Signal()

#: Sent inside the transaction that records a badge + face check, with ``verification``.
verification_done = Signal()
