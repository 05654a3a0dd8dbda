#include "sluice/formats/csv/csv_decoder.h"

namespace sluice::formats::csv {

Result<CsvTable> DecodeCsv(std::string_view, const CsvOptions&) {
  return Status::NotImplemented("DecodeCsv: under construction");
}

}  // namespace sluice::formats::csv
