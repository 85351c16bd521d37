"""Independent CSV reference: Python's csv module. Prints {"header": [...], "rows": [[...], ...]} as JSON
(blank lines skipped, UTF-8 BOM removed). Usage: csv_rows.py FILE.csv"""
import csv
import json
import sys

with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    rows = [r for r in csv.reader(f) if r]
print(json.dumps({"header": rows[0], "rows": rows[1:]}))
