"""``python -m weaksal.pretrained RUN NAME``: ship a finished run as a packaged model.

``python -m weaksal.pretrained --card NAME`` rewrites a shipped model's card
(README.md) from its folder's records, e.g. after a method's limitations change.
"""

import argparse

from weaksal.pretrained import pretrained_dir, ship_run
from weaksal.pretrained.cards import write_card

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("run", nargs="?", help="finished run folder, e.g. runs/wss-lite0")
parser.add_argument("name", nargs="?", help="the shipped model's name (wss, mws, lps...)")
parser.add_argument("--description", help="one line for the model card (default: the method's)")
parser.add_argument("--card", metavar="NAME", help="only rewrite this shipped model's card")
args = parser.parse_args()
if args.card:
    print(f"wrote {write_card(pretrained_dir(args.card), args.card)}")
elif args.run and args.name:
    print(f"shipped {ship_run(args.run, args.name, args.description)}")
else:
    parser.error("give RUN NAME, or --card NAME")
