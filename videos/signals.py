"""What videos announce; integrations listens (videos never imports integrations)."""

from django.dispatch import Signal

#: Sent inside the transaction that marks a video done, with ``video``.
video_analysed = Signal()
