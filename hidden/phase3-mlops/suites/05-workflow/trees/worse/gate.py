'''Model-quality gate: exit 0 to promote the candidate, 1 to block it.

	python gate.py metrics.json baseline.json [--tolerance 0.01]
'''
import argparse
import json
import math
import sys


def gate(candidate, baseline, tolerance):
	for name, reference in baseline.items():
		value = candidate.get(name)
		if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
			return False
		if name.endswith("loss"):
			if value > reference + tolerance:
				return False
		elif value < reference - tolerance:
			return False
	return True


def main(argv):
	parser = argparse.ArgumentParser(description="Promote (exit 0) or block (exit 1) a candidate model.")
	parser.add_argument("candidate")
	parser.add_argument("baseline")
	parser.add_argument("--tolerance", type=float, default=0.01)
	args = parser.parse_args(argv)
	try:
		with open(args.candidate) as handle:
			candidate = json.load(handle)
		with open(args.baseline) as handle:
			baseline = json.load(handle)
	except (OSError, ValueError) as error:
		print(f"BLOCK: cannot read the metrics: {error}")
		return 1
	if not isinstance(candidate, dict) or not isinstance(baseline, dict):
		print("BLOCK: the metrics files must hold JSON objects")
		return 1
	for name in sorted(baseline):
		print(f"{name}: candidate {candidate.get(name)!r}, baseline {baseline[name]!r}")
	promote = gate(candidate, baseline, args.tolerance)
	print(("PROMOTE" if promote else "BLOCK") + f" (tolerance {args.tolerance})")
	return 0 if promote else 1


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
