"""Threshold calibration: error rates from labelled pairs of faces (``stats``) and their pictures (``plots``).

Neither module touches Django: scores in, numbers and pictures out. Gathering the
pairs and applying a threshold are services (``recognition.services.calibration``).
"""
