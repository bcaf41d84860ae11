"""Re-stamp the hand-written entries of a lock file after an edit to their spec.

Hand-written lock entries (provenance.provider: hand) carry code a person wrote for a
question section. When the spec's style or datasets change, their input hashes go stale;
this keeps the code and records the spec's current hashes.

    .venv/bin/python specs/relock_handwritten.py specs/q3.yaml
"""

import sys
from pathlib import Path

from reportgen.build import BuildOptions, describe_datasets, load
from reportgen.lock import Lock
from reportgen.plan import input_hashes


def main(spec_path: str) -> None:
    spec, _, lock = load(Path(spec_path), BuildOptions())
    schemas = {name: info["columns"] for name, info in describe_datasets(spec).items()}
    hashes = input_hashes(spec, schemas)
    for section_id, entry in lock.sections.items():
        if entry.provenance.provider == "hand" and section_id in hashes:
            entry.inputs = hashes[section_id]
    lock.write(Lock.path_for(spec.path), spec.path.name)
    print(f"re-stamped {Lock.path_for(spec.path)}")


if __name__ == "__main__":
    main(sys.argv[1])
