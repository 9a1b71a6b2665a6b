"""Read a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format, without torch.

The file is a sequence of pickles: a magic number, the protocol version, a
sys-info dict, then the state dict, whose tensors refer to storages by
persistent id; then the list of storage keys; then, for each key in that order,
an 8-byte little-endian element count and the raw little-endian data.
"""

from __future__ import annotations

import pickle
import struct
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_DTYPES[name])


class _PendingTensor:
    def __init__(self, key: str, offset: int, size: tuple[int, ...], stride: tuple[int, ...]):
        self.key, self.offset, self.size, self.stride = key, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(
    storage: str, storage_offset: int, size: tuple[int, ...], stride: tuple[int, ...], *args: Any
) -> _PendingTensor:
    return _PendingTensor(storage, storage_offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, fh: BinaryIO, dtypes: dict[str, np.dtype]):
        super().__init__(fh)
        self._dtypes = dtypes

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"Refusing to load {module}.{name} from a model file.")

    def persistent_load(self, pid: Any) -> str:
        kind, storage_type, key, _location, _numel = pid[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"Unknown persistent id {kind!r}")
        self._dtypes[key] = storage_type.dtype
        return str(key)


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as fh:
        if pickle.load(fh) != MAGIC_NUMBER:
            raise ValueError(f"{path} is not a legacy PyTorch file")
        if pickle.load(fh) != PROTOCOL_VERSION:
            raise ValueError(f"{path} has an unsupported protocol version")
        pickle.load(fh)  # sys info
        dtypes: dict[str, np.dtype] = {}
        state = _Unpickler(fh, dtypes).load()
        keys = pickle.load(fh)
        storages = {}
        for key in keys:
            (numel,) = struct.unpack("<q", fh.read(8))
            dtype = dtypes[key].newbyteorder("<")
            storages[key] = np.frombuffer(fh.read(numel * dtype.itemsize), dtype=dtype)
    tensors = {}
    for name, pending in state.items():
        storage = storages[pending.key]
        itemsize = storage.dtype.itemsize
        array = np.lib.stride_tricks.as_strided(
            storage[pending.offset :],
            shape=pending.size,
            strides=tuple(s * itemsize for s in pending.stride),
        )
        tensors[name] = np.array(array, dtype=np.float32 if storage.dtype.kind == "f" else storage.dtype)
    return tensors
