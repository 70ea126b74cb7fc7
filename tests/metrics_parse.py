"""Parses Prometheus text (stdin) with the prometheus_client package's own
parser and prints what it read as JSON (stdout), for tests/it/metrics.rs:
{"families": [{"name", "type", "help"}], "samples": [{"name", "labels", "value"}]}.
A text the parser refuses exits non-zero with its error."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    families, samples = [], []
    for family in text_string_to_metric_families(sys.stdin.read()):
        families.append({"name": family.name, "type": family.type, "help": family.documentation})
        for s in family.samples:
            samples.append({"name": s.name, "labels": s.labels, "value": s.value})
    json.dump({"families": families, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
