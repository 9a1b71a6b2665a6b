"""What an engine estimated, in words: Rekognition's attributes as AWS documents them for DetectFaces."""

from recognition.services.attribute_words import attributes_in_words


def test_each_estimate_reads_as_words_with_how_sure_and_the_likeliest_expression_whatever_its_place():
    rekognition = {
        "AgeRange": {"Low": 27, "High": 35},
        "Gender": {"Value": "Female", "Confidence": 99.71},
        "Emotions": [
            {"Type": "CALM", "Confidence": 3.2},
            {"Type": "HAPPY", "Confidence": 95.4},
            {"Type": "SURPRISED", "Confidence": 1.4},
        ],
        "Smile": {"Value": True, "Confidence": 97.6},
        "Sunglasses": {"Value": False, "Confidence": 99.9},
        "FaceOccluded": {"Value": True, "Confidence": 88.0},
        "EyeDirection": {"Yaw": -12.3, "Pitch": 4.1, "Confidence": 99.0},
    }
    assert attributes_in_words(rekognition) == {
        "age": "27–35",
        "gender": "female, 100 % sure",
        "expression": "happy, 95 % sure",
        "smiling": "yes, 98 % sure",
        "sunglasses": "no, 100 % sure",
        "face partly covered": "yes, 88 % sure",
        "looking": "-12° to the side, +4° up or down",
    }


def test_nothing_held_says_nothing():
    assert attributes_in_words({}) == {}
    assert attributes_in_words({"Emotions": []}) == {}
