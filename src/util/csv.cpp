#include "util/csv.h"

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::csv {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

int Table::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

std::size_t Table::require_column(const std::string& name) const {
  const int c = column(name);
  if (c < 0) {
    std::string have;
    for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
    throw Error(source, "missing required column '" + name + "' (columns: " + have + ")");
  }
  return static_cast<std::size_t>(c);
}

const std::string& Table::get(std::size_t r, const std::string& name) const {
  static const std::string empty;
  const int c = column(name);
  return c < 0 ? empty : rows.at(r)[static_cast<std::size_t>(c)];
}

std::string Table::where(std::size_t r) const { return source + ":" + std::to_string(row_lines.at(r)); }

Table parse(const std::string& text, const std::string& source) {
  Table t;
  t.source = source;
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (n >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF)
    i = 3;
  std::size_t line = 1;
  bool have_header = false;
  while (i < n) {
    // One record.
    const std::size_t start_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool any_content = false;
    for (;;) {
      if (i < n && text[i] == '"' && trim(field).empty()) {
        // Quoted field: everything up to the closing quote, "" is a literal quote.
        field.clear();
        ++i;
        bool closed = false;
        while (i < n) {
          const char c = text[i++];
          if (c == '"') {
            if (i < n && text[i] == '"') {
              field.push_back('"');
              ++i;
            } else {
              closed = true;
              break;
            }
          } else {
            if (c == '\n') ++line;
            field.push_back(c);
          }
        }
        if (!closed) throw Error(source + ":" + std::to_string(start_line), "unterminated quoted field");
        any_content = true;
        // Allow only whitespace between the closing quote and the separator.
        while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          throw Error(source + ":" + std::to_string(line), "unexpected character after a closing quote");
        fields.push_back(field);
        field.clear();
        if (i < n && text[i] == ',') {
          ++i;
          if (i >= n) { fields.emplace_back(); break; }
          continue;
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') field.push_back(text[i++]);
        if (!field.empty()) any_content = true;
        fields.push_back(trim(field));
        field.clear();
        if (i < n && text[i] == ',') {
          any_content = true;
          ++i;
          if (i >= n) { fields.emplace_back(); break; }
          continue;
        }
      }
      // End of record: CRLF, LF, lone CR or end of text.
      if (i < n && text[i] == '\r') ++i;
      if (i < n && text[i] == '\n') ++i;
      ++line;
      break;
    }
    if (!any_content) continue;  // blank line
    if (!have_header) {
      t.header = fields;
      for (auto& h : t.header) h = trim(h);
      have_header = true;
      continue;
    }
    if (fields.size() != t.header.size())
      throw Error(source + ":" + std::to_string(start_line),
                  "row has " + std::to_string(fields.size()) + " fields, the header has " +
                      std::to_string(t.header.size()));
    t.rows.push_back(std::move(fields));
    t.row_lines.push_back(start_line);
  }
  if (!have_header) throw Error(source, "empty CSV file (no header row)");
  return t;
}

Table read(const std::string& path) { return parse(read_file_bytes(path), path); }

std::vector<std::string> split_list(const std::string& field, char sep) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (b <= field.size()) {
    std::size_t e = field.find(sep, b);
    if (e == std::string::npos) e = field.size();
    std::string part = trim(field.substr(b, e - b));
    if (!part.empty()) out.push_back(part);
    b = e + 1;
  }
  return out;
}

std::string quote_field(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char ch : field) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace raddiag::csv
