"""ImageNet classes rolled up into Rekognition-style labels with parents.

A fine class keeps the network's probability as its confidence. A parent
(Dog, Animal, Vehicle, ...) counts only the classes under it that carry evidence:
those at five times or more the share every class would get by chance
(``EVIDENCE_FLOOR``). Summing every class would let hundreds of weak classes add
up: a group of people, which ImageNet has no class for, spreads its probability
thinly over 398 animal classes, and the plain sum called that "Animal 79".
Counting evidence keeps "some dog" more certain than any one breed when the
breeds are strong (dog.jpg: Dog 82, German shepherd 44).

Where faces take up a fair share of the picture, classifier labels from the
animal tree that no class supports strongly are dropped: the picture shows
people, and an unsure animal guess is what this network says of people.
docs/MODELS.md has the measurements behind both numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recognition.engines.base import BoundingBox, FaceDetail, Label, LabelInstance

IMAGENET_CLASSES = 1000
# A class counts as evidence for its parents from 5x the chance share (0.1 %).
EVIDENCE_FLOOR = 5.0 / IMAGENET_CLASSES
# Faces covering this share of the picture mean people are a subject of it, not a detail.
PEOPLE_SHARE = 0.01
# An animal label whose best class is below this (0–100) is unsure, and gives way to the faces seen.
SURE_ANIMAL = 20.0
ANIMAL = "Animal"


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

    def labels(
        self, probabilities: np.ndarray, *, min_confidence: float, max_labels: int, people_share: float = 0.0
    ) -> list[Label]:
        """Labels from the network's class probabilities; ``people_share`` is the part of the picture
        that detected faces cover (0–1)."""
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
        evidence = np.where(probabilities >= EVIDENCE_FLOOR, probabilities, 0.0)
        parent_scores = np.minimum(self.membership @ evidence, 1.0) * 100.0
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
        if people_share >= PEOPLE_SHARE:
            result = [label for label in result if not self._unsure_animal(label, probabilities)]
        result.sort(key=lambda label: -label.confidence)
        return result[:max_labels]

    def best_class(self, name: str, probabilities: np.ndarray) -> float:
        """The probability (0–100) of the strongest class under the parent ``name``."""
        row = self.membership[self.parent_names.index(name)]
        return float((row * probabilities).max()) * 100.0

    def _unsure_animal(self, label: Label, probabilities: np.ndarray) -> bool:
        if label.name != ANIMAL and ANIMAL not in label.parents:
            return False
        if label.name in self.parent_names:
            return self.best_class(label.name, probabilities) < SURE_ANIMAL
        return label.confidence < SURE_ANIMAL


def faces_share(faces: list[FaceDetail]) -> float:
    """The part of the picture that the faces' boxes cover: their areas added up, at most 1."""
    return min(1.0, sum(f.bounding_box.area for f in faces))


def people_labels(faces: list[FaceDetail], *, min_confidence: float) -> list[Label]:
    """Person and Face labels from detected faces (ImageNet has no class for people). Each has an instance a
    face, boxed as the face: Rekognition's Person instances box whole people, and code that counts people
    counts them."""
    faces = [f for f in faces if f.confidence >= min_confidence]
    if not faces:
        return []
    best = max(f.confidence for f in faces)
    instances = tuple(LabelInstance(bounding_box=f.bounding_box, confidence=f.confidence) for f in faces)
    return [
        Label(name="Person", confidence=best, categories=("Person Description",), instances=instances),
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
