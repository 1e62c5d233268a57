"""The course's train.py (the notebook shows the same program, written otherwise)."""
import json

import numpy as np

import minitrain

FEATURES = [0, 1, 2, 3]


def main():
	data = np.loadtxt("data.csv", delimiter=",", skiprows=1)
	_, _, scores = minitrain.train(data[:, FEATURES], data[:, -1].astype(int), test_fraction=0.25, seed=0)
	with open("metrics.json", "w") as out:
		json.dump(scores, out, indent=2)
	print("candidate metrics:", json.dumps(scores))


main()
