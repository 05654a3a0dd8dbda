// `sluice demo`: until the Datastream source lands, writes a built-in sample
// change stream (an initial load, then batches of inserts, updates and
// deletes on an `orders` table) into a change log table and a latest-state
// table, with visible progress and a summary.
#include <arrow/api.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <unordered_map>

#include "sluice/cli/commands.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"

namespace sluice::cli {

namespace {

struct OrderRow {
  int64_t id;
  std::string customer;
  int64_t amount_cents;
  std::string status;
  int64_t updated_at_us;
};

std::shared_ptr<arrow::Schema> OrdersSchema(bool with_op) {
  arrow::FieldVector fields = {
      arrow::field("order_id", arrow::int64(), false),
      arrow::field("customer", arrow::utf8()),
      arrow::field("amount", arrow::decimal128(18, 2)),
      arrow::field("status", arrow::utf8()),
      arrow::field("updated_at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
  };
  if (with_op) {
    fields.push_back(arrow::field("_cdc_op", arrow::utf8()));
    fields.push_back(arrow::field("_cdc_seq", arrow::int64()));
  }
  return arrow::schema(fields);
}

Result<std::shared_ptr<arrow::Table>> ToTable(const std::vector<OrderRow>& rows,
                                              const std::vector<std::string>* ops,
                                              int64_t first_seq) {
  arrow::Int64Builder id;
  arrow::StringBuilder customer, status, op;
  arrow::Decimal128Builder amount(arrow::decimal128(18, 2));
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                             arrow::default_memory_pool());
  arrow::Int64Builder seq;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ARROW_RETURN_NOT_OK(id.Append(r.id));
    ARROW_RETURN_NOT_OK(customer.Append(r.customer));
    ARROW_RETURN_NOT_OK(amount.Append(arrow::Decimal128(r.amount_cents)));
    ARROW_RETURN_NOT_OK(status.Append(r.status));
    ARROW_RETURN_NOT_OK(ts.Append(r.updated_at_us));
    if (ops) {
      ARROW_RETURN_NOT_OK(op.Append((*ops)[i]));
      ARROW_RETURN_NOT_OK(seq.Append(first_seq + static_cast<int64_t>(i)));
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> cols(ops ? 7 : 5);
  ARROW_RETURN_NOT_OK(id.Finish(&cols[0]));
  ARROW_RETURN_NOT_OK(customer.Finish(&cols[1]));
  ARROW_RETURN_NOT_OK(amount.Finish(&cols[2]));
  ARROW_RETURN_NOT_OK(status.Finish(&cols[3]));
  ARROW_RETURN_NOT_OK(ts.Finish(&cols[4]));
  if (ops) {
    ARROW_RETURN_NOT_OK(op.Finish(&cols[5]));
    ARROW_RETURN_NOT_OK(seq.Finish(&cols[6]));
  }
  return arrow::Table::Make(OrdersSchema(ops != nullptr), cols);
}

Status RunDemoImpl(const DemoArgs& args) {
  namespace fs = std::filesystem;
  fs::remove_all(args.dir);
  std::string merged_path = args.dir + "/shop/orders";
  std::string log_path = args.dir + "/shop/orders_log";
  ARROW_ASSIGN_OR_RAISE(auto merged, io::OpenTableLocation(merged_path));
  ARROW_ASSIGN_OR_RAISE(auto log, io::OpenTableLocation(log_path));

  std::mt19937_64 rng(42);
  const char* statuses[] = {"new", "paid", "shipped", "delivered", "returned"};
  std::unordered_map<int64_t, size_t> where;  // id -> index in `live`
  std::vector<OrderRow> live;
  int64_t clock_us = 1700000000LL * 1000000;
  int64_t next_id = 1, seq = 0;
  auto t0 = std::chrono::steady_clock::now();
  int64_t events = 0;

  auto make_row = [&](int64_t id) {
    return OrderRow{id, "customer-" + std::to_string(rng() % 50000),
                    static_cast<int64_t>(rng() % 10000000), statuses[rng() % 2], clock_us};
  };

  // Initial load.
  std::vector<OrderRow> load;
  for (int64_t i = 0; i < args.rows; ++i) load.push_back(make_row(next_id++));
  std::vector<std::string> ops(load.size(), "snapshot");
  ARROW_ASSIGN_OR_RAISE(auto log_batch, ToTable(load, &ops, seq));
  seq += static_cast<int64_t>(load.size());
  delta::TableWriteOptions log_opts;
  log_opts.deletion_vectors = false;
  log_opts.txn = delta::Txn{"sluice-demo/shop.orders", 0, {}};
  ARROW_ASSIGN_OR_RAISE(auto lr, delta::WriteTable(log, log_batch, log_opts));
  ARROW_ASSIGN_OR_RAISE(auto merged_batch, ToTable(load, nullptr, 0));
  delta::TableWriteOptions merged_opts;
  merged_opts.txn = delta::Txn{"sluice-demo/shop.orders", 0, {}};
  ARROW_ASSIGN_OR_RAISE(auto mr, delta::WriteTable(merged, merged_batch, merged_opts));
  for (auto& r : load) {
    where[r.id] = live.size();
    live.push_back(r);
  }
  events += static_cast<int64_t>(load.size());
  std::cout << "[demo] initial load: " << load.size() << " rows -> orders_log v" << lr.version
            << ", orders v" << mr.version << std::endl;

  for (int b = 1; b <= args.batches; ++b) {
    clock_us += 60LL * 1000000;
    int64_t batch_events = std::max<int64_t>(args.rows / 20, 10);
    std::vector<OrderRow> changes;
    std::vector<std::string> change_ops;
    std::map<int64_t, OrderRow> upserts;  // latest image per key in this batch
    std::set<int64_t> deletes;
    for (int64_t e = 0; e < batch_events; ++e) {
      int kind = static_cast<int>(rng() % 100);
      if (kind < 25 || live.empty()) {  // insert
        auto r = make_row(next_id++);
        changes.push_back(r);
        change_ops.push_back("insert");
        upserts[r.id] = r;
        deletes.erase(r.id);
      } else {
        int64_t id = live[rng() % live.size()].id;
        if (deletes.count(id)) continue;
        if (kind < 90) {  // update
          OrderRow r = upserts.count(id) ? upserts[id] : live[where[id]];
          r.status = statuses[rng() % 5];
          r.amount_cents += static_cast<int64_t>(rng() % 1000);
          r.updated_at_us = clock_us + e;
          changes.push_back(r);
          change_ops.push_back("update");
          upserts[id] = r;
        } else {  // delete
          OrderRow r = upserts.count(id) ? upserts[id] : live[where[id]];
          changes.push_back(r);
          change_ops.push_back("delete");
          upserts.erase(id);
          deletes.insert(id);
        }
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto change_table, ToTable(changes, &change_ops, seq));
    seq += static_cast<int64_t>(changes.size());
    log_opts.txn->version = b;
    ARROW_ASSIGN_OR_RAISE(lr, delta::WriteTable(log, change_table, log_opts));

    // Latest state: mark replaced and deleted rows in deletion vectors, then
    // append the new images.
    ARROW_ASSIGN_OR_RAISE(auto snap, delta::Snapshot::Load(merged.log));
    std::map<std::string, delta::DeletionBitmap> rows_by_file;
    std::set<int64_t> touched(deletes.begin(), deletes.end());
    for (auto& [id, r] : upserts) touched.insert(id);
    for (const auto& file : snap->files()) {
      delta::Add raw = file;
      raw.deletion_vector.reset();
      ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadDataFile(*snap, merged, raw));
      auto ids = std::static_pointer_cast<arrow::Int64Array>(rows->column(0)->chunk(0));
      delta::DeletionBitmap bm;
      for (int64_t i = 0; i < ids->length(); ++i) {
        if (touched.count(ids->Value(i))) bm.Add(static_cast<uint64_t>(i));
      }
      if (bm.Cardinality() > 0) rows_by_file[file.path] = std::move(bm);
    }
    if (!rows_by_file.empty()) {
      ARROW_RETURN_NOT_OK(
          delta::DeleteRows(merged, snap, rows_by_file, delta::DeleteMode::kDeletionVectors)
              .status());
    }
    std::vector<OrderRow> images;
    for (auto& [id, r] : upserts) images.push_back(r);
    ARROW_ASSIGN_OR_RAISE(auto image_table, ToTable(images, nullptr, 0));
    merged_opts.txn->version = b;
    ARROW_ASSIGN_OR_RAISE(mr, delta::WriteTable(merged, image_table, merged_opts));

    for (int64_t id : deletes) {
      size_t idx = where[id];
      where[live.back().id] = idx;
      std::swap(live[idx], live.back());
      live.pop_back();
      where.erase(id);
    }
    for (auto& [id, r] : upserts) {
      auto it = where.find(id);
      if (it == where.end()) {
        where[id] = live.size();
        live.push_back(r);
      } else {
        live[it->second] = r;
      }
    }
    events += static_cast<int64_t>(changes.size());
    std::cout << "[demo] batch " << b << "/" << args.batches << ": " << changes.size()
              << " changes (" << upserts.size() << " upserts, " << deletes.size()
              << " deletes) -> orders_log v" << lr.version << ", orders v" << mr.version
              << (mr.checkpointed ? " (checkpoint)" : "") << std::endl;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  ARROW_ASSIGN_OR_RAISE(auto final_snap, delta::Snapshot::Load(merged.log));
  ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadSnapshot(*final_snap, merged));
  if (rows->num_rows() != static_cast<int64_t>(live.size())) {
    return Status::Invalid("demo check failed: orders has ", rows->num_rows(), " rows, expected ",
                           live.size());
  }
  ARROW_ASSIGN_OR_RAISE(auto log_snap, delta::Snapshot::Load(log.log));
  std::cout << "\n== Sluice demo summary ==\n"
            << "events ingested   " << events << " in " << secs << " s ("
            << static_cast<int64_t>(events / std::max(secs, 1e-9)) << " events/s)\n"
            << "orders_log        " << log_path << ": version " << log_snap->version() << ", "
            << log_snap->files().size() << " files, " << log_snap->NumRecords().value_or(-1)
            << " change rows\n"
            << "orders            " << merged_path << ": version " << final_snap->version() << ", "
            << final_snap->files().size() << " files, " << rows->num_rows()
            << " live rows (checked against the generator's own state)\n"
            << "inspect with      build/sluice inspect " << merged_path << "\n";
  return Status::OK();
}

}  // namespace

int RunDemo(const DemoArgs& args) {
  Status st = RunDemoImpl(args);
  if (!st.ok()) {
    std::cerr << "sluice demo: " << st.ToString() << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace sluice::cli
