"""``python -m weaksal.pretrained RUN NAME``: ship a finished run as a packaged model."""

import argparse

from weaksal.pretrained import ship_run

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("run", help="finished run folder, e.g. runs/wss-lite0")
parser.add_argument("name", help="the shipped model's name (wss, mws, lps...)")
parser.add_argument("--description", help="one line for the model card (default: the method's)")
args = parser.parse_args()
print(f"shipped {ship_run(args.run, args.name, args.description)}")
