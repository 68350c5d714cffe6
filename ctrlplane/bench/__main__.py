"""`python -m ctrlplane.bench [PART ...] [-- part options]`: run benchmark parts."""

from __future__ import annotations

import importlib
import sys

PARTS = ["eventlog", "controller", "agents", "rollout", "replay"]


def main(argv: list[str]) -> int:
    # Leading words name parts; everything from the first option on is passed
    # to each part (so `eventlog --events 1000` works).
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    parts, options = argv[:split] or PARTS, argv[split:]
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
