"""``python -m weaksal.pretrained RUN NAME``: ship a finished run as a packaged model."""

import argparse

from weaksal.pretrained import PRETRAINED, ship_run

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("run", help="finished run folder, e.g. runs/wss-lite0")
parser.add_argument("name", choices=sorted(PRETRAINED))
parser.add_argument("--model", default="final.safetensors", help="model file inside the run")
args = parser.parse_args()
print(f"shipped {ship_run(args.run, args.name, args.model)}")
