"""Amazon Rekognition, through boto3 (see ``engine``)."""

from recognition.engines.rekognition.engine import RekognitionEngine

__all__ = ["RekognitionEngine"]
