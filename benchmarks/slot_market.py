"""run.py with the P2P market's community and operator in one simulator, stepped per slot.

    python benchmarks/slot_market.py <run.py arguments>

(``tests/agents/community/slot_world.py`` wires ``CommunityMarketSim`` into ``twin.world``.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.agents.community.slot_world import use_slot_market  # noqa: E402
from twin.cli.main import main  # noqa: E402

if __name__ == "__main__":
    use_slot_market()
    sys.exit(main(started=STARTED))
