from recognition.engines.local.engine import LocalEngine

__all__ = ["LocalEngine"]
