#!/usr/bin/env python3
"""Self-test of check_layering.py: each rule fails on a tree that breaks it,
passes on one that keeps it, and reports file:line.

    python3 tests/layering/test_check_layering.py     (standard library only)
"""
from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_layering  # noqa: E402


def tree(files: dict) -> Path:
    """A fake src/sluice with `files` ({relative path: text})."""
    root = Path(tempfile.mkdtemp(prefix="layering-")) / "sluice"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def problems(files: dict) -> list:
    return check_layering.check(tree(files))


class Rules(unittest.TestCase):
    def assertRefused(self, file: str, header: str):
        got = problems({file: f'// x\n#include <vector>\n#include "{header}"\n'})
        self.assertEqual(len(got), 1, got)
        self.assertIn(f"{file}:3:", got[0])
        self.assertIn(header, got[0])

    def assertAllowed(self, file: str, header: str):
        self.assertEqual(problems({file: f'#include "{header}"\n'}), [])

    def test_pipeline_knows_the_source_interface_only(self):
        self.assertRefused("pipeline/table_pipeline.cc", "sluice/sources/datastream/discovery.h")
        self.assertRefused("pipeline/runner.h", "sluice/sources/dms/x/y.h")
        self.assertAllowed("pipeline/runner.cc", "sluice/sources/source.h")
        self.assertAllowed("pipeline/runner.cc", "sluice/merge/merge_plan.h")
        self.assertRefused("pipeline/runner.cc", "sluice/cli/commands.h")

    def test_only_cli_knows_the_server(self):
        for layer in ("pipeline/runner.cc", "delta/x.cc", "sources/source.h", "merge/m.cc", "core/c.h"):
            self.assertRefused(layer, "sluice/server/http_server.h")
        self.assertAllowed("cli/run_command.cc", "sluice/server/http_server.h")
        self.assertAllowed("server/ops_routes.cc", "sluice/core/status.h")
        for down in ("io/log_store.h", "delta/snapshot.h", "pipeline/runner.h", "cli/commands.h"):
            self.assertRefused("server/http_server.cc", "sluice/" + down)

    def test_sources_know_no_delta_merge_pipeline_cli(self):
        for up in ("delta/table_writer.h", "merge/key_index.h", "pipeline/config.h", "cli/commands.h"):
            self.assertRefused("sources/datastream/file_cursor.cc", "sluice/" + up)
            self.assertRefused("sources/source.h", "sluice/" + up)
        self.assertAllowed("sources/datastream/x.cc", "sluice/formats/avro/decoder.h")
        self.assertAllowed("sources/datastream/x.cc", "sluice/io/log_store.h")

    def test_a_concrete_source_knows_no_other_one(self):
        self.assertRefused("sources/dms/dms_changes.cc", "sluice/sources/datastream/unified_types.h")
        self.assertRefused("sources/debezium/x.h", "sluice/sources/dms/dms_settings.h")
        self.assertAllowed("sources/dms/dms_changes.cc", "sluice/sources/storable_types.h")
        self.assertAllowed("sources/dms/dms_changes.cc", "sluice/sources/dms/dms_names.h")
        self.assertAllowed("sources/source_registry.cc", "sluice/sources/dms/dms_source.h")

    def test_merge_knows_no_sources_pipeline_cli(self):
        for up in ("sources/sequence_key.h", "sources/datastream/x.h", "pipeline/config.h", "cli/x.h"):
            self.assertRefused("merge/key_index.cc", "sluice/" + up)
        self.assertAllowed("merge/key_index.cc", "sluice/delta/snapshot.h")

    def test_delta_io_core_point_down_only(self):
        for up in ("formats/avro/x.h", "sources/x.h", "merge/x.h", "pipeline/x.h", "cli/x.h"):
            self.assertRefused("delta/snapshot.cc", "sluice/" + up)
        self.assertAllowed("delta/snapshot.cc", "sluice/io/log_store.h")
        for up in ("delta/x.h", "formats/x/y.h", "merge/x.h"):
            self.assertRefused("io/local_log_store.cc", "sluice/" + up)
        self.assertAllowed("io/local_log_store.cc", "sluice/core/status.h")
        for other in ("io/x.h", "delta/x.h", "cli/x.h"):
            self.assertRefused("core/status.cc", "sluice/" + other)

    def test_formats_know_no_delta_sources_merge_pipeline_cli(self):
        for up in ("delta/x.h", "sources/x.h", "merge/x.h", "pipeline/x.h", "cli/x.h"):
            self.assertRefused("formats/json/json_reader.cc", "sluice/" + up)
        self.assertAllowed("formats/json/json_reader.cc", "sluice/core/status.h")

    def test_relative_includes_are_resolved(self):
        got = problems({"pipeline/runner.cc": '#include "../sources/datastream/discovery.h"\n',
                        "sources/datastream/discovery.h": "#pragma once\n"})
        self.assertEqual(len(got), 1, got)
        self.assertIn("pipeline/runner.cc:1:", got[0])

    def test_main_exit_code_and_stamp(self):
        bad = tree({"merge/a.cc": '#include "sluice/sources/datastream/x.h"\n'})
        stamp = bad.parent / "stamp"
        self.assertEqual(check_layering.main(["--src", str(bad), "--stamp", str(stamp)]), 1)
        self.assertFalse(stamp.exists())
        good = tree({"merge/a.cc": '#include "sluice/delta/x.h"\n'})
        self.assertEqual(check_layering.main(["--src", str(good), "--stamp", str(stamp)]), 0)
        self.assertTrue(stamp.exists())


if __name__ == "__main__":
    unittest.main()
