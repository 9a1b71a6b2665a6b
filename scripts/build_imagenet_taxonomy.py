"""Generate recognition/engines/local/data/imagenet_taxonomy.json.

Run once by a developer (the JSON is committed), from Debian packages:

    apt-get download darknet wordnet-base && dpkg-deb -x darknet_*.deb x && dpkg-deb -x wordnet-base_*.deb x
    python scripts/build_imagenet_taxonomy.py x/usr/share/darknet/data x/usr/share/wordnet

For each of the 1000 ImageNet classes, in the standard index order (sorted
WordNet ids, the order the EfficientNet weights use), it writes a display name
and its parents: the WordNet hypernyms of the class that appear in ROLLUPS,
nearest first, as Rekognition rolls "German Shepherd" up to Dog, Canine,
Mammal, Animal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# WordNet 3.0 synset → the parent label shown to users.
ROLLUPS = {
    "n02084071": "Dog",
    "n02083346": "Canine",
    "n02121808": "Cat",
    "n02120997": "Feline",
    "n02127808": "Big Cat",
    "n02131653": "Bear",
    "n02469914": "Primate",
    "n02484322": "Monkey",
    "n02374451": "Horse",
    "n02401031": "Cattle",
    "n02329401": "Rodent",
    "n02062017": "Sea Life",
    "n02512053": "Fish",
    "n01482330": "Shark",
    "n01503061": "Bird",
    "n01604330": "Bird of Prey",
    "n01613807": "Eagle",
    "n01661091": "Reptile",
    "n01726692": "Snake",
    "n01674464": "Lizard",
    "n01662784": "Turtle",
    "n01627424": "Amphibian",
    "n02159955": "Insect",
    "n02274259": "Butterfly",
    "n01976957": "Crab",
    "n01861778": "Mammal",
    "n00015388": "Animal",
    "n04524313": "Vehicle",
    "n02958343": "Car",
    "n04490091": "Truck",
    "n02924116": "Bus",
    "n03790512": "Motorcycle",
    "n02834778": "Bicycle",
    "n04468005": "Train",
    "n02858304": "Boat",
    "n04194289": "Ship",
    "n02686568": "Aircraft",
    "n03100490": "Transportation",
    "n07707451": "Vegetable",
    "n13134947": "Fruit",
    "n07566340": "Food",
    "n00021265": "Food",
    "n07881800": "Beverage",
    "n11669921": "Flower",
    "n00017222": "Plant",
    "n13083586": "Plant",
    "n12992868": "Fungus",
    "n03405725": "Furniture",
    "n04379243": "Table",
    "n03001627": "Chair",
    "n03051540": "Clothing",
    "n03381126": "Footwear",
    "n03502509": "Hat",
    "n03800933": "Musical Instrument",
    "n02913152": "Building",
    "n04341686": "Architecture",
    "n03082979": "Computer",
    "n03278248": "Electronics",
    "n04565375": "Weapon",
    "n04451818": "Tool",
    "n03613294": "Kitchen Utensil",
    "n02778669": "Ball",
    "n04285146": "Sports Equipment",
    "n03574816": "Instrument",
    "n09287968": "Outdoors",
    "n09366317": "Nature",
}

CATEGORIES = {
    "Animal": "Animals and Pets",
    "Vehicle": "Vehicles and Automotive",
    "Transportation": "Vehicles and Automotive",
    "Food": "Food and Beverage",
    "Beverage": "Food and Beverage",
    "Plant": "Nature and Outdoors",
    "Fungus": "Nature and Outdoors",
    "Outdoors": "Nature and Outdoors",
    "Nature": "Nature and Outdoors",
    "Clothing": "Apparel and Accessories",
    "Furniture": "Home and Indoors",
    "Kitchen Utensil": "Home and Indoors",
    "Building": "Buildings and Architecture",
    "Architecture": "Buildings and Architecture",
    "Electronics": "Technology and Computing",
    "Computer": "Technology and Computing",
    "Musical Instrument": "Hobbies and Interests",
    "Sports Equipment": "Sports",
    "Weapon": "Weapons and Military",
}

PETS = {"Dog", "Cat"}


def read_hypernyms(wordnet_dir: Path) -> dict[str, list[str]]:
    hypernyms: dict[str, list[str]] = {}
    with (wordnet_dir / "data.noun").open(encoding="latin-1") as fh:
        for line in fh:
            if line.startswith("  "):
                continue  # licence header
            fields = line.split(" | ")[0].split()
            offset = fields[0]
            word_count = int(fields[3], 16)
            pos = 4 + 2 * word_count
            pointer_count = int(fields[pos])
            pos += 1
            parents = []
            for _ in range(pointer_count):
                symbol, target, target_pos = fields[pos], fields[pos + 1], fields[pos + 2]
                if symbol in ("@", "@i") and target_pos == "n":
                    parents.append("n" + target)
                pos += 4
            hypernyms["n" + offset] = parents
    return hypernyms


def ancestors(wnid: str, hypernyms: dict[str, list[str]]) -> list[str]:
    """Breadth-first, nearest first, each once."""
    seen, order, frontier = set(), [], list(hypernyms.get(wnid, []))
    while frontier:
        nxt = []
        for node in frontier:
            if node not in seen:
                seen.add(node)
                order.append(node)
                nxt.extend(hypernyms.get(node, []))
        frontier = nxt
    return order


def main(darknet_data: str, wordnet_dir: str, out: str) -> None:
    wnids = Path(darknet_data, "imagenet.labels.list").read_text().split("\n")[:1000]
    names = Path(darknet_data, "imagenet.shortnames.list").read_text().split("\n")[:1000]
    if len(set(wnids)) != 1000:
        raise SystemExit("expected 1000 distinct ImageNet-1k synsets")
    hypernyms = read_hypernyms(Path(wordnet_dir))
    missing = [w for w in ROLLUPS if w not in hypernyms]
    if missing:
        raise SystemExit(f"roll-up synsets missing from WordNet: {missing}")
    classes = []
    for wnid, name in sorted(zip(wnids, names, strict=True)):
        parents: list[str] = []
        for node in ancestors(wnid, hypernyms):
            label = ROLLUPS.get(node)
            if label and label not in parents:
                parents.append(label)
        if PETS & set(parents):
            parents.append("Pet")
        categories = sorted({CATEGORIES[p] for p in parents if p in CATEGORIES})
        display = name[:1].upper() + name[1:]
        classes.append({"wnid": wnid, "name": display, "parents": parents, "categories": categories})
    Path(out).write_text(json.dumps({"source": "ImageNet-1k via Debian darknet + WordNet 3.0", "classes": classes},
                                    indent=0, ensure_ascii=False) + "\n")  # fmt: skip
    print(f"wrote {len(classes)} classes to {out}")


if __name__ == "__main__":
    darknet, wordnet = sys.argv[1:3]
    main(
        darknet, wordnet, sys.argv[3] if len(sys.argv) > 3 else "recognition/engines/local/data/imagenet_taxonomy.json"
    )
