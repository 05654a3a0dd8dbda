"""tests/dms_reference: the DMS generator (tools/dms_gen) and the reference
model (model.py) checked against each other and on hand-written cases."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
