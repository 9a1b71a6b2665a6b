"""ImageNet classes rolled up into Rekognition-style labels with parents.

A fine class keeps the network's probability as its confidence. A parent
(Dog, Animal, Vehicle, ...) gets the summed probability of every class under
it: "some dog" is more certain than any one breed, as it should be.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recognition.engines.base import BoundingBox, FaceDetail, Label, LabelInstance


class LabelTaxonomy:
    def __init__(self, classes: list[dict[str, Any]]) -> None:
        self.classes = classes
        self.parent_names = sorted({p for c in classes for p in c["parents"]})
        index = {name: i for i, name in enumerate(self.parent_names)}
        membership = np.zeros((len(self.parent_names), len(classes)), dtype=np.float32)
        for j, c in enumerate(classes):
            for p in c["parents"]:
                membership[index[p], j] = 1.0
        self.membership = membership
        counts = membership.sum(axis=1)
        # A parent's own parents: those every one of its classes also has; nearest (rarest) first.
        self.parent_parents: dict[str, tuple[str, ...]] = {}
        self.parent_categories: dict[str, tuple[str, ...]] = {}
        for name in self.parent_names:
            members = [c for c in classes if name in c["parents"]]
            shared = set.intersection(*(set(c["parents"]) for c in members)) - {name}
            self.parent_parents[name] = tuple(sorted(shared, key=lambda p: (counts[index[p]], p)))
            self.parent_categories[name] = tuple(sorted(set.intersection(*(set(c["categories"]) for c in members))))

    def labels(self, probabilities: np.ndarray, *, min_confidence: float, max_labels: int) -> list[Label]:
        result = []
        for j in np.flatnonzero(probabilities * 100.0 >= min_confidence):
            c = self.classes[int(j)]
            result.append(
                Label(
                    name=c["name"],
                    confidence=round(float(probabilities[j]) * 100.0, 3),
                    parents=tuple(c["parents"]),
                    categories=tuple(c["categories"]),
                )
            )
        parent_scores = np.minimum(self.membership @ probabilities, 1.0) * 100.0
        for i in np.flatnonzero(parent_scores >= min_confidence):
            name = self.parent_names[int(i)]
            result.append(
                Label(
                    name=name,
                    confidence=round(float(parent_scores[i]), 3),
                    parents=self.parent_parents[name],
                    categories=self.parent_categories[name],
                )
            )
        result.sort(key=lambda label: -label.confidence)
        return result[:max_labels]


def people_labels(faces: list[FaceDetail], *, min_confidence: float) -> list[Label]:
    """Person and Face labels from detected faces (ImageNet has no class for people)."""
    faces = [f for f in faces if f.confidence >= min_confidence]
    if not faces:
        return []
    best = max(f.confidence for f in faces)
    instances = tuple(LabelInstance(bounding_box=f.bounding_box, confidence=f.confidence) for f in faces)
    return [
        Label(name="Person", confidence=best, categories=("Person Description",)),
        Label(
            name="Face", confidence=best, parents=("Person",), categories=("Person Description",), instances=instances
        ),
    ]


def ratio_box(points: np.ndarray, width: int, height: int) -> BoundingBox:
    xs, ys = points[:, 0], points[:, 1]
    return BoundingBox(
        left=float(xs.min()) / width,
        top=float(ys.min()) / height,
        width=float(xs.max() - xs.min()) / width,
        height=float(ys.max() - ys.min()) / height,
    ).clamped()
