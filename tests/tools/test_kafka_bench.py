"""bench/kafka_bench.py's JSON encoder: the template it produces with writes
the bytes json.dumps writes for the same Debezium envelope (so the bench's
events are what JsonConverter would send), for snapshot and update events."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "kafka"))

from kafka_bench import Encoder  # noqa: E402


def test_json_template_writes_what_json_dumps_writes():
    enc = Encoder("json", "kb3")
    for key, op, ts_ms, lsn in [(0, "r", 1_700_000_000_000, 1_000_001),
                                (9_999_999, "u", 1_800_000_000_123, 12_345_678_999),
                                (42, "c", 1, 1000)]:
        k, v = enc.encode(key, op, ts_ms, lsn)
        want_v = enc.v_head + json.dumps(enc.payload(key, op, ts_ms, lsn),
                                         separators=(",", ":")) + "}"
        want_k = enc.k_head + '{"id":%d}}' % key
        assert v.decode() == want_v
        assert k.decode() == want_k
        doc = json.loads(v)
        assert doc["payload"]["source"]["sequence"] == f'["{lsn}","{lsn}"]'
        assert doc["payload"]["after"]["qty"] == lsn % 1000
