"""Compares two output trees of benches/identical/outputs.sh made by builds whose files may
differ in columns: every CSV column the OLD tree has must hold the same bytes, row for row,
in the NEW tree (columns the new build added are ignored, and listed); every other file must
be byte-identical. Exits 1 and names the first difference of each file otherwise.

    python3 benches/identical/same_columns.py /tmp/outputs-old /tmp/outputs-new
"""
import csv
import os
import sys


def main(old_root, new_root):
    compared, problems, added = 0, [], set()
    for folder, _, files in os.walk(old_root):
        for name in sorted(files):
            old = os.path.join(folder, name)
            new = os.path.join(new_root, os.path.relpath(old, old_root))
            if not os.path.exists(new):
                problems.append(f"{new}: missing")
                continue
            compared += 1
            if not name.endswith(".csv"):
                if open(old, "rb").read() != open(new, "rb").read():
                    problems.append(f"{new}: bytes differ")
                continue
            with open(old, newline="") as a, open(new, newline="") as b:
                old_rows, new_rows = list(csv.reader(a)), list(csv.reader(b))
            if len(old_rows) != len(new_rows):
                problems.append(f"{new}: {len(new_rows)} rows, not {len(old_rows)}")
                continue
            header, new_header = old_rows[0], new_rows[0]
            missing = [c for c in header if c not in new_header]
            if missing:
                problems.append(f"{new}: columns gone: {missing}")
                continue
            added.update(f"{name}:{c}" for c in new_header if c not in header)
            at = [new_header.index(c) for c in header]
            for k, (o, n) in enumerate(zip(old_rows[1:], new_rows[1:]), start=2):
                picked = [n[i] for i in at]
                if picked != o:
                    col = next(header[i] for i in range(len(o)) if o[i] != picked[i])
                    problems.append(f"{new}:{k}: column {col}: {o[header.index(col)]!r} became {picked[header.index(col)]!r}")
                    break
    print(f"{compared} files compared; columns added: {sorted(added) or 'none'}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
