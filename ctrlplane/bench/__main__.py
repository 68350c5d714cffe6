"""`python -m ctrlplane.bench [PART ...] [-- part options]`: run benchmark parts."""

from __future__ import annotations

import importlib
import sys

PARTS = ["eventlog", "controller", "agents", "rollout", "replay"]


def main(argv: list[str]) -> int:
    parts = [a for a in argv if not a.startswith("-")] or PARTS
    options = [a for a in argv if a.startswith("-")]
    for part in parts:
        if part not in PARTS:
            print(f"bench: unknown part {part!r}; expected one of {', '.join(PARTS)}")
            return 2
        module = importlib.import_module(f"ctrlplane.bench.{part}")
        print(f"== {part}", flush=True)
        module.main(options)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
