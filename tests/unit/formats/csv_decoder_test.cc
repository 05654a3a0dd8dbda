// DecodeCsv, rule by rule (csv_decoder.h), then a few MB of generated CSV
// whose expected cells are built alongside the text by the test itself.
#include "sluice/formats/csv/csv_decoder.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sluice::formats::csv {
namespace {

using Cell = std::optional<std::string>;
using Rows = std::vector<std::vector<Cell>>;

CsvTable Decode(std::string_view text, const CsvOptions& options = {}) {
  auto result = DecodeCsv(text, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  const CsvTable& table = *result;
  EXPECT_NE(table.batch, nullptr);
  if (table.batch) {
    EXPECT_TRUE(table.batch->ValidateFull().ok());
    EXPECT_EQ(table.batch->num_columns(), static_cast<int>(table.column_names.size()));
    EXPECT_EQ(static_cast<int64_t>(table.record_offsets.size()), table.batch->num_rows());
    EXPECT_EQ(table.unsupplied.size(), table.column_names.size());
  }
  return std::move(result).ValueOrDie();
}

Rows Cells(const CsvTable& table) {
  Rows rows(static_cast<size_t>(table.batch->num_rows()));
  for (int c = 0; c < table.batch->num_columns(); ++c) {
    EXPECT_EQ(table.batch->schema()->field(c)->name(), table.column_names[c]);
    EXPECT_TRUE(table.batch->column(c)->type()->Equals(arrow::utf8()));
    const auto& column = static_cast<const arrow::StringArray&>(*table.batch->column(c));
    for (int64_t r = 0; r < column.length(); ++r) {
      rows[static_cast<size_t>(r)].push_back(
          column.IsNull(r) ? Cell() : Cell(std::string(column.GetView(r))));
    }
  }
  return rows;
}

CsvOptions NoHeader(std::vector<std::string> names) {
  CsvOptions options;
  options.header = false;
  options.column_names = std::move(names);
  return options;
}

TEST(CsvDecoder, QuotedDelimitersDoubledQuotesAndEmbeddedNewlines) {
  // Each of these breaks a split on ',' and '\n'.
  const std::string text =
      "id,name\n"
      "1,\"a,b\"\n"
      "2,\"say \"\"hi\"\"\"\n"
      "3,\"line1\nline2\"\n"
      "4,\"cr\r\nlf\"\n"
      "5,\"\"\"\"\n";
  CsvTable table = Decode(text);
  EXPECT_TRUE(table.errors.empty());
  EXPECT_EQ(table.column_names, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(Cells(table), (Rows{{"1", "a,b"},
                                {"2", "say \"hi\""},
                                {"3", "line1\nline2"},
                                {"4", "cr\r\nlf"},
                                {"5", "\""}}));
  // Each row's offset is where its record starts.
  for (size_t r = 0; r < table.record_offsets.size(); ++r) {
    EXPECT_EQ(text[static_cast<size_t>(table.record_offsets[r])], '1' + static_cast<char>(r));
    if (r > 0) {
      EXPECT_EQ(text[static_cast<size_t>(table.record_offsets[r]) - 1], '\n');
    }
  }
}

TEST(CsvDecoder, RecordEndsCrlfLfAndLoneCr) {
  const Rows expected{{"1", "a"}, {"2", "b"}, {"3", "c"}};
  EXPECT_EQ(Cells(Decode("k,v\r\n1,a\r\n2,b\r\n3,c\r\n")), expected);
  EXPECT_EQ(Cells(Decode("k,v\n1,a\r\n2,b\n3,c\r\n")), expected);
  EXPECT_EQ(Cells(Decode("k,v\r1,a\r2,b\r3,c")), expected);
}

TEST(CsvDecoder, LastRecordWithOrWithoutNewline) {
  const Rows expected{{"1", "a"}, {"2", "b"}};
  EXPECT_EQ(Cells(Decode("k,v\n1,a\n2,b")), expected);
  EXPECT_EQ(Cells(Decode("k,v\n1,a\n2,b\n")), expected);
  EXPECT_EQ(Cells(Decode("k,v\n1,a\n2,b\r\n")), expected);
  EXPECT_EQ(Cells(Decode("k,v\n1,a\n2,\"b\"")), expected);
  // A trailing delimiter is one more (empty) field.
  EXPECT_EQ(Cells(Decode("k,v\n1,\n2,")), (Rows{{"1", ""}, {"2", ""}}));
}

TEST(CsvDecoder, NullStringUnquotedOnlyAndEmptyStringKeptApart) {
  CsvTable table = Decode("k,v\n1,NULL\n2,\"NULL\"\n3,\n4,\"\"\n5,null\nNULL,x\n");
  EXPECT_TRUE(table.errors.empty());
  EXPECT_EQ(
      Cells(table),
      (Rows{{"1", Cell()}, {"2", "NULL"}, {"3", ""}, {"4", ""}, {"5", "null"}, {Cell(), "x"}}));
}

TEST(CsvDecoder, EmptyNullValueMakesOnlyUnquotedEmptyFieldsNull) {
  CsvOptions options;
  options.null_value = "";
  EXPECT_EQ(Cells(Decode("k,v\n1,\n2,\"\"\n3,NULL\n", options)),
            (Rows{{"1", Cell()}, {"2", ""}, {"3", "NULL"}}));
  options.null_value = "\\N";
  EXPECT_EQ(Cells(Decode("k,v\n1,\\N\n2,\"\\N\"\n3,NULL\n4,\n", options)),
            (Rows{{"1", Cell()}, {"2", "\\N"}, {"3", "NULL"}, {"4", ""}}));
}

TEST(CsvDecoder, NoSupValueFlaggedAndNullInBatch) {
  CsvOptions options;
  options.no_sup_value.emplace("*NOSUP*");
  CsvTable table = Decode("k,a,b\n1,*NOSUP*,x\n2,y,\"*NOSUP*\"\n3,*NOSUP*,NULL\n", options);
  EXPECT_TRUE(table.errors.empty());
  EXPECT_EQ(Cells(table), (Rows{{"1", Cell(), "x"}, {"2", "y", "*NOSUP*"}, {"3", Cell(), Cell()}}));
  EXPECT_TRUE(table.unsupplied[0].empty());
  EXPECT_EQ(table.unsupplied[1], (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(table.unsupplied[2].empty());  // a quoted placeholder is text
  EXPECT_TRUE(table.IsUnsupplied(1, 0));
  EXPECT_FALSE(table.IsUnsupplied(1, 1));
  EXPECT_FALSE(table.IsUnsupplied(2, 1));
  EXPECT_FALSE(table.IsUnsupplied(2, 2));  // NULL, not unsupplied
}

TEST(CsvDecoder, WithoutHeaderTheConfiguredNamesApply) {
  CsvTable table = Decode("1,a\n2,b\n", NoHeader({"id", "name"}));
  EXPECT_EQ(table.column_names, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(Cells(table), (Rows{{"1", "a"}, {"2", "b"}}));
  // The first record is data, not a header.
  EXPECT_EQ(table.record_offsets, (std::vector<int64_t>{0, 4}));
}

TEST(CsvDecoder, ColumnNamesRequiredAndUniqueWithoutHeader) {
  auto missing = DecodeCsv("1,a\n", NoHeader({}));
  ASSERT_TRUE(missing.status().IsInvalid());
  EXPECT_NE(missing.status().message().find("names no column"), std::string::npos);
  auto twice = DecodeCsv("1,a\n", NoHeader({"id", "id"}));
  ASSERT_TRUE(twice.status().IsInvalid());
  EXPECT_NE(twice.status().message().find("'id' appears twice"), std::string::npos);
}

TEST(CsvDecoder, HeaderWithDuplicateOrEmptyNameIsAnError) {
  auto twice = DecodeCsv("id,name,id\n1,a,2\n", {});
  ASSERT_TRUE(twice.status().IsInvalid());
  EXPECT_NE(twice.status().message().find("'id' appears twice (columns 1 and 3)"),
            std::string::npos)
      << twice.status().ToString();
  auto empty = DecodeCsv("id,,name\n1,a,2\n", {});
  ASSERT_TRUE(empty.status().IsInvalid());
  EXPECT_NE(empty.status().message().find("column 2 has an empty name"), std::string::npos);
  auto quoted_empty = DecodeCsv("id,\"\"\n1,a\n", {});
  EXPECT_TRUE(quoted_empty.status().IsInvalid());
  auto blank = DecodeCsv("\nid\n1\n", {});
  ASSERT_TRUE(blank.status().IsInvalid());
  EXPECT_NE(blank.status().message().find("blank"), std::string::npos);
  auto unbalanced = DecodeCsv("id,\"name\n1,a\n", {});
  ASSERT_TRUE(unbalanced.status().IsInvalid());
  EXPECT_NE(unbalanced.status().message().find("never closed"), std::string::npos);
  auto bad_utf8 = DecodeCsv("id,n\xff\n1,a\n", {});
  ASSERT_TRUE(bad_utf8.status().IsInvalid());
  EXPECT_NE(bad_utf8.status().message().find("UTF-8"), std::string::npos);
}

TEST(CsvDecoder, QuotedHeaderNames) {
  CsvTable table = Decode("\"id\",\"a,b\",\"say \"\"x\"\"\",NULL\n1,2,3,4\n");
  EXPECT_EQ(table.column_names, (std::vector<std::string>{"id", "a,b", "say \"x\"", "NULL"}));
  EXPECT_EQ(Cells(table), (Rows{{"1", "2", "3", "4"}}));
}

TEST(CsvDecoder, WrongColumnCountIsARowErrorAndDecodingGoesOn) {
  const std::string text = "k,v\n1,a\n2,b,extra\n3\n4,d\n";
  CsvTable table = Decode(text);
  EXPECT_EQ(Cells(table), (Rows{{"1", "a"}, {"4", "d"}}));
  EXPECT_EQ(table.record_offsets, (std::vector<int64_t>{4, 20}));
  ASSERT_EQ(table.errors.size(), 2u);
  EXPECT_EQ(table.errors[0].record, 1);
  EXPECT_EQ(table.errors[0].line, 3);
  EXPECT_EQ(table.errors[0].byte_offset, 8);
  EXPECT_EQ(table.errors[0].reason, "expected 2 fields, found 3");
  EXPECT_EQ(table.errors[0].raw, "2,b,extra");
  EXPECT_EQ(table.errors[1].record, 2);
  EXPECT_EQ(table.errors[1].line, 4);
  EXPECT_EQ(table.errors[1].reason, "expected 2 fields, found 1");
  EXPECT_EQ(table.errors[1].raw, "3");
}

TEST(CsvDecoder, UnbalancedQuoteRunsToTheEndAsOneError) {
  const std::string text = "k,v\n1,a\n2,\"open\n3,c\n4,d\n";
  CsvTable table = Decode(text);
  EXPECT_EQ(Cells(table), (Rows{{"1", "a"}}));
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].line, 3);
  EXPECT_EQ(table.errors[0].byte_offset, 8);
  EXPECT_EQ(table.errors[0].raw, "2,\"open\n3,c\n4,d\n");
  EXPECT_NE(table.errors[0].reason.find("field 2: the quote opened at byte 10 is never closed"),
            std::string::npos)
      << table.errors[0].reason;
}

TEST(CsvDecoder, StrayQuoteInUnquotedFieldIsARowError) {
  CsvTable table = Decode("k,v\n1,ab\"c\n2,b\n");
  EXPECT_EQ(Cells(table), (Rows{{"2", "b"}}));
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].raw, "1,ab\"c");
  EXPECT_EQ(table.errors[0].reason, "field 2: quote inside an unquoted field (byte 8)");
}

TEST(CsvDecoder, BytesAfterClosingQuoteAreARowError) {
  CsvTable table = Decode("k,v\n1,\"ab\"c\n2,b\n");
  EXPECT_EQ(Cells(table), (Rows{{"2", "b"}}));
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].raw, "1,\"ab\"c");
  EXPECT_NE(table.errors[0].reason.find("field 2: bytes after the closing quote"),
            std::string::npos);
}

TEST(CsvDecoder, AfterAStrayQuoteAQuotedNewlineStillBelongsToTheRecord) {
  // The bad record's third field holds a quoted newline: resuming at that
  // newline would invent a second bad record ("x\",z").
  CsvTable table = Decode("a,b,c\n1,o\"k,\"multi\nline\"\n2,y,z\n");
  EXPECT_EQ(Cells(table), (Rows{{"2", "y", "z"}}));
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].raw, "1,o\"k,\"multi\nline\"");
  EXPECT_EQ(table.record_offsets, (std::vector<int64_t>{25}));
}

TEST(CsvDecoder, BadUtf8IsARowErrorNamingTheField) {
  CsvTable table = Decode("k,v\n1,ok\n2,bad\xc3(\n3,\xe2\x82\xac\n4,trunc\xe2\x82");
  EXPECT_EQ(Cells(table), (Rows{{"1", "ok"}, {"3", "\xe2\x82\xac"}}));
  ASSERT_EQ(table.errors.size(), 2u);
  EXPECT_EQ(table.errors[0].reason, "field 2 ('v') is not valid UTF-8");
  EXPECT_EQ(table.errors[0].raw, "2,bad\xc3(");
  EXPECT_EQ(table.errors[1].record, 3);
  EXPECT_EQ(table.errors[1].raw, "4,trunc\xe2\x82");
  // Invalid bytes inside a quoted field too.
  CsvTable quoted = Decode("k,v\n\"\xff\",x\n1,y\n");
  EXPECT_EQ(Cells(quoted), (Rows{{"1", "y"}}));
  ASSERT_EQ(quoted.errors.size(), 1u);
  EXPECT_EQ(quoted.errors[0].reason, "field 1 ('k') is not valid UTF-8");
}

TEST(CsvDecoder, ByteOrderMarkIsSkipped) {
  CsvTable table = Decode("\xEF\xBB\xBFid,v\n1,a\n");
  EXPECT_EQ(table.column_names, (std::vector<std::string>{"id", "v"}));
  EXPECT_EQ(table.record_offsets, (std::vector<int64_t>{8}));
  CsvTable no_header = Decode(
      "\xEF\xBB\xBF"
      "1,a\n",
      NoHeader({"id", "v"}));
  EXPECT_EQ(Cells(no_header), (Rows{{"1", "a"}}));
  // Only at the start: elsewhere it is data.
  CsvTable inner = Decode(
      "id,v\n\xEF\xBB\xBF"
      "1,a\n");
  EXPECT_EQ(Cells(inner), (Rows{{"\xEF\xBB\xBF"
                                 "1",
                                 "a"}}));
}

TEST(CsvDecoder, OtherDelimitersAndQuotes) {
  CsvOptions pipe;
  pipe.delimiter = '|';
  EXPECT_EQ(Cells(Decode("k|v\n1|a,b\n2|\"x|y\"\n", pipe)), (Rows{{"1", "a,b"}, {"2", "x|y"}}));
  CsvOptions tab;
  tab.delimiter = '\t';
  tab.quote = '\'';
  EXPECT_EQ(Cells(Decode("k\tv\n1\t'it''s\t\"q\"'\n", tab)), (Rows{{"1", "it's\t\"q\""}}));
}

TEST(CsvDecoder, WithoutQuotingQuotesArePlainBytes) {
  CsvOptions options;
  options.quoting = false;  // DMS Rfc4180 = false
  CsvTable table = Decode("k,v\n1,ab\"c\n2,\"x\"\n3,\"NULL\"\n4,NULL\n5,\"a,b\"\n", options);
  EXPECT_EQ(Cells(table), (Rows{{"1", "ab\"c"}, {"2", "\"x\""}, {"3", "\"NULL\""}, {"4", Cell()}}));
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].reason, "expected 2 fields, found 3");
  // The quote byte is not checked then.
  options.quote = ',';
  EXPECT_EQ(Cells(Decode("k,v\n1,\"\n", options)), (Rows{{"1", "\""}}));
}

TEST(CsvDecoder, BlankLinesAreSkippedUnlessTheTableHasOneColumn) {
  CsvTable two = Decode("k,v\n\n1,a\r\n\r\n\n2,b\n\n");
  EXPECT_EQ(Cells(two), (Rows{{"1", "a"}, {"2", "b"}}));
  EXPECT_TRUE(two.errors.empty());
  // Skipped lines are not records, but they are lines.
  CsvTable counted = Decode("k,v\n\n\r\n1,a,x\n");
  ASSERT_EQ(counted.errors.size(), 1u);
  EXPECT_EQ(counted.errors[0].record, 0);
  EXPECT_EQ(counted.errors[0].line, 4);
  EXPECT_EQ(counted.errors[0].byte_offset, 7);
  CsvTable one = Decode("v\na\n\nb\n");
  EXPECT_EQ(Cells(one), (Rows{{"a"}, {""}, {"b"}}));
  CsvOptions null_empty;
  null_empty.null_value = "";
  EXPECT_EQ(Cells(Decode("v\na\n\n", null_empty)), (Rows{{"a"}, {Cell()}}));
}

TEST(CsvDecoder, LinesCountNewlinesInsideQuotes) {
  CsvTable table = Decode("k,v\n1,\"a\nb\r\nc\rd\"\n2\n");
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].line, 6);
  EXPECT_EQ(table.errors[0].record, 1);
}

TEST(CsvDecoder, ErrorRawIsBounded) {
  CsvOptions options;
  options.max_error_raw_bytes = 16;
  const std::string long_field(1000, 'x');
  CsvTable table = Decode("k,v\n1," + long_field + ",3\n", options);
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].raw, "1," + long_field.substr(0, 14));
}

TEST(CsvDecoder, EmptyInputAndHeaderOnly) {
  CsvTable empty = Decode("");
  EXPECT_TRUE(empty.column_names.empty());
  EXPECT_EQ(empty.batch->num_rows(), 0);
  CsvTable bom = Decode("\xEF\xBB\xBF");
  EXPECT_TRUE(bom.column_names.empty());
  CsvTable header_only = Decode("a,b\r\n");
  EXPECT_EQ(header_only.column_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(header_only.batch->num_rows(), 0);
  EXPECT_EQ(header_only.batch->num_columns(), 2);
  CsvTable no_rows = Decode("", NoHeader({"a"}));
  EXPECT_EQ(no_rows.batch->num_rows(), 0);
  EXPECT_EQ(no_rows.batch->num_columns(), 1);
}

TEST(CsvDecoder, BadOptionsAreRefused) {
  CsvOptions same;
  same.quote = ',';
  EXPECT_TRUE(DecodeCsv("a\n", same).status().IsInvalid());
  CsvOptions newline;
  newline.delimiter = '\n';
  EXPECT_TRUE(DecodeCsv("a\n", newline).status().IsInvalid());
  CsvOptions high;
  high.delimiter = '\xa7';
  EXPECT_TRUE(DecodeCsv("a\n", high).status().IsInvalid());
  CsvOptions null_with_delimiter;
  null_with_delimiter.null_value = "N,A";
  EXPECT_TRUE(DecodeCsv("a\n", null_with_delimiter).status().IsInvalid());
  CsvOptions nosup_with_quote;
  nosup_with_quote.no_sup_value.emplace("\"x");
  EXPECT_TRUE(DecodeCsv("a\n", nosup_with_quote).status().IsInvalid());
  CsvOptions clash;
  clash.no_sup_value.emplace("NULL");
  EXPECT_TRUE(DecodeCsv("a\n", clash).status().IsInvalid());
}

// A few MB of random records (quoted and unquoted, with delimiters, quotes,
// CR/LF, the null string quoted and not, empty strings, multi-byte UTF-8),
// written by the test with the cells it expects back, plus malformed records
// at known places.
TEST(CsvDecoder, GeneratedMegabytesMatchTheirExpectedCells) {
  std::mt19937_64 rng(20261203);
  const std::vector<std::string> alphabet = {"a",
                                             "b",
                                             "Z",
                                             "0",
                                             "9",
                                             " ",
                                             ",",
                                             "\"",
                                             "\n",
                                             "\r\n",
                                             "\r",
                                             "\xc3\xa9",
                                             "\xe2\x82\xac",
                                             "\xf0\x9f\x98\x80",
                                             "N",
                                             "U",
                                             "L",
                                             "|"};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto random_text = [&]() {
    std::string s;
    const size_t length = pick(12);
    for (size_t i = 0; i < length; ++i) s += alphabet[pick(alphabet.size())];
    return s;
  };
  auto needs_quotes = [](const std::string& s) {
    return s.find_first_of(",\"\r\n") != std::string::npos || s == "NULL" || s.empty();
  };
  auto quoted = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      out += c;
      if (c == '"') out += '"';
    }
    return out + "\"";
  };

  constexpr int kColumns = 6;
  std::string text = "c0,c1,c2,c3,c4,c5\r\n";
  Rows expected;
  std::vector<int64_t> expected_offsets;
  std::vector<int64_t> expected_error_offsets;
  int64_t record = 0;
  std::vector<int64_t> expected_error_records;
  while (text.size() < (size_t{4} << 20)) {
    const int64_t offset = static_cast<int64_t>(text.size());
    const size_t kind = pick(1000);
    if (kind == 0) {  // wrong column count
      text += "x,y\n";
      expected_error_offsets.push_back(offset);
      expected_error_records.push_back(record++);
      continue;
    }
    if (kind == 1) {  // stray quote
      text += "1,2,3,4,5,6\"7\n";
      expected_error_offsets.push_back(offset);
      expected_error_records.push_back(record++);
      continue;
    }
    if (kind == 2) {  // bad UTF-8 inside quotes
      text += "1,2,\"\xc0\xaf\",4,5,6\r\n";
      expected_error_offsets.push_back(offset);
      expected_error_records.push_back(record++);
      continue;
    }
    std::vector<Cell> row;
    for (int c = 0; c < kColumns; ++c) {
      if (c > 0) text += ',';
      const size_t form = pick(10);
      if (form == 0) {
        text += "NULL";
        row.push_back(Cell());
      } else if (form == 1) {
        row.push_back(std::string());  // unquoted empty
      } else {
        std::string value = random_text();
        text += (needs_quotes(value) || form == 2) ? quoted(value) : value;
        row.push_back(value);
      }
    }
    text += pick(2) ? "\n" : "\r\n";
    expected.push_back(std::move(row));
    expected_offsets.push_back(offset);
    ++record;
  }
  text += "1,2,\"never closed\n";
  expected_error_offsets.push_back(static_cast<int64_t>(text.size()) - 18);
  expected_error_records.push_back(record);

  CsvTable table = Decode(text);
  ASSERT_EQ(table.batch->num_rows(), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(Cells(table), expected);
  EXPECT_EQ(table.record_offsets, expected_offsets);
  ASSERT_EQ(table.errors.size(), expected_error_offsets.size());
  for (size_t i = 0; i < table.errors.size(); ++i) {
    EXPECT_EQ(table.errors[i].byte_offset, expected_error_offsets[i]) << i;
    EXPECT_EQ(table.errors[i].record, expected_error_records[i]) << i;
    EXPECT_FALSE(table.errors[i].reason.empty());
  }
  EXPECT_GT(table.errors.size(), 3u);
}

}  // namespace
}  // namespace sluice::formats::csv
