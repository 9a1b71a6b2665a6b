"""A Rekognition-compatible HTTP API: boto3, the AWS CLI and the other AWS SDKs, pointed at Facesite."""
