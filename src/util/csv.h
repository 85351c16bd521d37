#pragma once
// RFC 4180 CSV reader for the dataset manifests: quoted fields (with commas, quotes and newlines inside),
// CRLF or LF line ends, an optional UTF-8 byte-order mark. Every error names the file and the line.
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace raddiag::csv {

struct Table {
  std::string source;                      // file name, for error messages
  std::vector<std::string> header;         // column names, surrounding whitespace trimmed
  std::vector<std::vector<std::string>> rows;  // every row has exactly header.size() fields
  std::vector<std::size_t> row_lines;      // 1-based line on which each row starts

  // Column index, or -1 when absent.
  int column(const std::string& name) const;
  // Column index; throws raddiag::Error naming the file and the missing column.
  std::size_t require_column(const std::string& name) const;
  // Field of row r by column name; "" when the column is absent.
  const std::string& get(std::size_t r, const std::string& name) const;
  // "file:line" for row r, for error messages.
  std::string where(std::size_t r) const;
};

// Parses CSV text. Blank lines are skipped. A row with a different number of fields than the header is an
// error (the line is named), as is an unterminated quoted field.
Table parse(const std::string& text, const std::string& source);
Table read(const std::string& path);

// Splits a multi-valued field ("a; b;c") on `sep`, trimming whitespace and dropping empty parts.
std::vector<std::string> split_list(const std::string& field, char sep = ';');

std::string trim(const std::string& s);

// One field as RFC 4180 writes it: quoted (inner quotes doubled) when it holds a comma, quote, CR or LF.
std::string quote_field(const std::string& field);

}  // namespace raddiag::csv
