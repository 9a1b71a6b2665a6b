"""The back office: images with their boxes, the review queue, people, and the records (verifications, audit)."""

from recognition.admin import collections, exports, images, people, records, review  # noqa: F401  (each module registers its admins)
