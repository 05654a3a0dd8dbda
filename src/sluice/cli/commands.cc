#include "sluice/cli/commands.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "sluice/core/arrow_init.h"
#include "sluice/pipeline/config.h"
#include "sluice/sources/source_registry.h"

namespace sluice::cli {

namespace {

void AddCodecOptions(CLI::App* command, CodecArgs& codec) {
  command->add_option("--compression", codec.name,
                      "Parquet codec of the new files: zstd (default), snappy, lz4, gzip, "
                      "uncompressed");
  command->add_option("--compression-level", codec.level,
                      "codec level (zstd, gzip; default: 1 for zstd)");
}

// One section of `sluice run --help`: "[section] key, key, ...", wrapped
// at a comma.
std::string SectionHelp(const std::string& section, const std::string& keys) {
  constexpr size_t kWidth = 88;
  std::string out;
  std::string line = "  [" + section + "]";
  size_t at = 0;
  while (at < keys.size()) {
    size_t comma = keys.find(", ", at);
    std::string word = keys.substr(at, comma == std::string::npos ? comma : comma + 1 - at);
    at = comma == std::string::npos ? keys.size() : comma + 2;
    if (line.size() + 1 + word.size() > kWidth) {
      out += line + "\n";
      line = "   ";
    }
    line += " " + word;
  }
  return out + line + "\n";
}

// `sluice run --help`: each source's sections and their keys, as the
// sources declare them (sources/source_settings.h).
std::string SourceSectionsHelp() {
  std::string out;
  for (const auto& section : sources::SourceSettingSections()) {
    out += SectionHelp(section.section, sources::KnownKeysText(section));
  }
  return out;
}

// `sluice run --help`: Sluice's own sections (pipeline::CoreConfigKeys),
// in the order they are declared.
std::string CoreSectionsHelp() {
  std::vector<std::pair<std::string, std::string>> sections;  // section, "key, key"
  for (const auto& key : pipeline::CoreConfigKeys()) {
    const size_t dot = key.rfind('.');
    const std::string section = key.substr(0, dot);
    if (sections.empty() || sections.back().first != section) sections.push_back({section, ""});
    std::string& keys = sections.back().second;
    keys += (keys.empty() ? "" : ", ") + key.substr(dot + 1);
  }
  std::string out;
  for (const auto& [section, keys] : sections) out += SectionHelp(section, keys);
  return out;
}

}  // namespace

int RunMain(int argc, char** argv) {
  if (Status st = InitArrowCompute(); !st.ok()) {
    std::cerr << "sluice: cannot initialise Arrow compute: " << st.ToString() << std::endl;
    return 1;
  }
  CLI::App app{"sluice: database change streams into Delta Lake tables"};
  app.require_subcommand(1);

  RunArgs run;
  auto* r = app.add_subcommand("run", "ingest the configured change stream into Delta tables");
  r->add_option("--config", run.config, "TOML configuration (may be empty; env overrides)");
  r->add_flag("--once", run.once, "drain what is there, then exit");
  r->add_option("--shard", run.shard, "i/n: run only the tables of shard i of n");
  r->add_option("--metrics", run.metrics,
                "append one JSON line per commit (ingest and merge timings) to this file");
  auto* http_opt = r->add_option("--http", run.http_address,
                                 "serve metrics, health and the status page on ADDR "
                                 "(default 127.0.0.1:9400; see docs/operations.md)")
                       ->expected(0, 1);
  r->add_option("--http-token", run.http_token,
                "bearer token the data routes require (else $SLUICE_HTTP_TOKEN)");
  r->add_flag("--http-insecure", run.http_insecure,
              "allow a non-loopback --http address without a token");
  r->add_option("--http-max-requests-per-second", run.http_max_requests_per_second,
                "requests per second each client address may make (bursts of twice that); "
                "beyond it 429 Too Many Requests; 0: no limit (default 20)")
      ->check(CLI::NonNegativeNumber);
  r->add_flag("!--no-event-log", run.event_log,
              "do not write the event log table <sink>/_sluice/events");
  r->add_option("--event-log-retention", run.event_log_retention,
                "how long the event log keeps its rows (default 30d)");
  r->add_option("--log-format", run.log_format,
                "human (default) or json: one JSON object per line (level, table, message, "
                "fields)")
      ->check(CLI::IsMember({"human", "json"}));
  r->footer(
      "Configuration keys (docs/configuration.md):\n" + CoreSectionsHelp() +
      "Sources (source.kind): datastream and dms read source.path (docs/configuration.md, "
      "docs/dms.md);\n"
      "debezium reads Kafka (docs/debezium.md), source.format json or avro: [source.kafka]\n"
      "takes topics = [..] or topic_pattern = \"regex\", and [source.kafka.properties] is passed\n"
      "to librdkafka as it is (security.protocol, sasl.*). The sources' sections:\n" +
      SourceSectionsHelp() +
      "  Each key also as SLUICE_<SECTION>_<KEY> (SLUICE_SOURCE_KAFKA_GROUP_ID, ...).");

  WriteArgs write;
  auto* w = app.add_subcommand("write", "append (or overwrite) a Parquet file's rows to a table");
  w->add_option("table", write.table, "table directory")->required();
  w->add_option("--input", write.input, "Parquet file with the rows")->required();
  w->add_option("--partition-by", write.partition_by, "partition columns (new tables)")
      ->delimiter(',');
  w->add_option("--mode", write.mode, "append | overwrite")
      ->check(CLI::IsMember({"append", "overwrite"}));
  w->add_option("--target-file-size", write.target_file_size, "bytes per data file");
  w->add_option("--checkpoint-interval", write.checkpoint_interval, "commits between checkpoints");
  AddCodecOptions(w, write.codec);
  w->add_flag("--no-deletion-vectors", write.no_deletion_vectors,
              "create a protocol (1,2) table without deletion vectors");
  w->add_option("--txn", write.txn, "APP_ID=VERSION progress to commit with the rows");

  DeleteArgs del;
  auto* d = app.add_subcommand("delete", "delete the rows whose key is in a Parquet file");
  d->add_option("table", del.table, "table directory")->required();
  d->add_option("--key", del.key, "key column")->required();
  d->add_option("--keys-from", del.keys_from, "Parquet file with a column of that name")
      ->required();
  d->add_flag("--copy-on-write", del.copy_on_write, "rewrite files instead of deletion vectors");
  d->add_flag("--inline-dv", del.inline_dv, "store the deletion vectors inline in the log");

  CatArgs cat;
  auto* c = app.add_subcommand("cat", "write a snapshot's rows to a Parquet file");
  c->add_option("table", cat.table, "table directory")->required();
  c->add_option("--version", cat.version, "time travel to a version");
  c->add_option("--timestamp", cat.timestamp, "time travel to a time (ISO 8601, UTC)");
  c->add_option("--out", cat.out, "output Parquet file")->required();

  ReplayArgs replay;
  auto* rp = app.add_subcommand("replay",
                                "rebuild a table as it was at a moment from its change log table");
  rp->add_option("--log-table", replay.log_table, "the change log table (<table>_log)")->required();
  rp->add_option("--as-of", replay.as_of,
                 "source time, inclusive: ISO 8601 UTC (2025-01-31T12:00:00Z), epoch ms, or now")
      ->required();
  rp->add_option("--out", replay.out, "directory for the new table (must not hold one)")
      ->required();
  rp->add_option("--keys", replay.keys, "primary key columns (default: those the log records)")
      ->delimiter(',');
  rp->add_flag("--copy-on-write", replay.copy_on_write,
               "write without deletion vectors (for readers lacking them)");

  SnapshotArgs snapshot;
  auto* sn = app.add_subcommand(
      "snapshot",
      "write the table as of the end of a date (UTC source time) from its change log, as "
      "<sink>/<db>/<table>_snapshot/version=DATE or as partition DATE of that table");
  sn->add_option("--config", snapshot.config, "TOML configuration (may be empty; env overrides)");
  sn->add_option("--table", snapshot.table, "<database>.<table>")->required();
  sn->add_option("--date", snapshot.date, "YYYY-MM-DD")->required();
  sn->add_flag("--partitioned", snapshot.partitioned,
               "a partition of one table partitioned by snapshot.partition_column");
  sn->add_flag("--rebuild", snapshot.rebuild,
               "replay the log from scratch (allows a date older than the latest snapshot)");

  std::string ckpt_table;
  auto* k = app.add_subcommand("checkpoint", "write a checkpoint at the latest version");
  k->add_option("table", ckpt_table, "table directory")->required();

  CompactArgs compact;
  auto* o = app.add_subcommand(
      "compact", "bin-pack small files and rewrite files with many deleted rows (OPTIMIZE)");
  o->add_option("table", compact.table, "table directory")->required();
  o->add_option("--target-file-size", compact.target_file_size, "bytes per new file")
      ->check(CLI::PositiveNumber);
  o->add_option("--small-file-size", compact.small_file_size,
                "files below this many bytes are candidates (default: target / 4)");
  o->add_option("--min-small-files", compact.min_small_files,
                "rewrite a bin of small files only if it has this many");
  o->add_option("--max-deleted-ratio", compact.max_deleted_ratio,
                "rewrite files whose deletion vector hides more than this share of rows")
      ->check(CLI::Range(0.0, 1.0));
  o->add_option("--max-bytes", compact.max_bytes, "stop after this many input bytes (0: all)");
  AddCodecOptions(o, compact.codec);
  o->add_flag("--no-side-tables", compact.no_side_tables,
              "leave the merged table's _sluice/tombstones table alone");

  VacuumArgs vacuum;
  auto* v = app.add_subcommand(
      "vacuum", "delete unreferenced data and DV files older than the retention, expire old log");
  v->add_option("table", vacuum.table, "table directory")->required();
  v->add_option("--retention", vacuum.retention,
                "e.g. 168h, 7d, 0s (default: delta.deletedFileRetentionDuration, 7d)");
  v->add_option("--log-retention", vacuum.log_retention,
                "e.g. 30d (default: delta.logRetentionDuration, 30d)");
  v->add_flag("--dry-run", vacuum.dry_run, "list what would be deleted");
  v->add_flag("--no-side-tables", vacuum.no_side_tables,
              "leave the merged table's _sluice/tombstones table alone");

  std::string status_sink;
  bool status_json = false;
  auto* st = app.add_subcommand(
      "status", "per source table: committed position, last commit, rows, lag, stopped tables");
  st->add_option("sink", status_sink, "the sink path (DELTA_TABLE_PATH of the run)")->required();
  st->add_flag("--json", status_json, "print one JSON object");

  std::string inspect_table;
  bool inspect_json = false;
  auto* i = app.add_subcommand("inspect", "versions, protocol, schema, files, rows, txn progress");
  i->add_option("table", inspect_table, "table directory")->required();
  i->add_flag("--json", inspect_json, "print one JSON object");

  DemoArgs demo;
  auto* m = app.add_subcommand(
      "demo",
      "generate a Datastream change stream and run the pipeline on it (log, merged and "
      "history tables)");
  m->add_option("--dir", demo.dir, "output directory: DIR/stream (the files), DIR/lake (tables)");
  m->add_option("--rows", demo.rows, "rows in the backfill (initial load), over both tables");
  m->add_option("--batches", demo.batches, "minutes of CDC changes after the backfill");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*r) {
    run.http = http_opt->count() > 0;
    return RunRun(run);
  }
  if (*w) return RunWrite(write);
  if (*d) return RunDelete(del);
  if (*c) return RunCat(cat);
  if (*rp) return RunReplay(replay);
  if (*sn) return RunSnapshot(snapshot);
  if (*k) return RunCheckpoint(ckpt_table);
  if (*o) return RunCompact(compact);
  if (*v) return RunVacuum(vacuum);
  if (*st) return RunStatus(status_sink, status_json);
  if (*i) return RunInspect(inspect_table, inspect_json);
  if (*m) return RunDemo(demo);
  return 2;
}

}  // namespace sluice::cli
