"""The database as the source of truth for enrolled faces, seen through the engines' ``FaceStore``."""

from __future__ import annotations

import numpy as np

from recognition.models import Collection, Face


class DatabaseFaceStore:
    def collection_version(self, collection_id: str) -> str:
        row = Collection.objects.filter(name=collection_id).values_list("pk", "version").first()
        return "missing" if row is None else f"{row[0]}:{row[1]}"

    def collection_embeddings(
        self, collection_id: str, *, engine: str, model_version: str
    ) -> tuple[list[str], list[str], np.ndarray]:
        rows = Face.objects.filter(
            collection__name=collection_id,
            is_reference=True,
            engine=engine,
            model_version=model_version,
            embedding__isnull=False,
        ).values_list("engine_face_id", "person_id", "embedding")
        ids: list[str] = []
        users: list[str] = []
        vectors: list[np.ndarray] = []
        for face_id, person_id, blob in rows.iterator(chunk_size=2000):
            assert blob is not None  # filtered above
            ids.append(face_id)
            users.append(str(person_id) if person_id else "")  # Person.engine_user_id; "" for no one's
            vectors.append(np.frombuffer(bytes(blob), dtype="<f4"))
        if not vectors:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        return ids, users, np.vstack(vectors)
