// Re-reading a TOML string from the file to map a decoded offset to a line and column.
#include "relay/policy/source_position.h"

namespace tg::policy {
namespace {

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

std::size_t utf8_length(std::uint32_t code_point) {
  return code_point < 0x80 ? 1 : code_point < 0x800 ? 2 : code_point < 0x10000 ? 3 : 4;
}

class StringReader {
 public:
  StringReader(std::string_view document, TextPosition start, std::string_view decoded)
      : doc_(document), decoded_(decoded), at_(start) {}

  bool find_start() {
    for (int line = 1; line < at_.line; ++line) {
      pos_ = doc_.find('\n', pos_);
      if (pos_ == std::string_view::npos) return false;
      ++pos_;
    }
    for (int column = 1; column < at_.column; ++column) {
      if (pos_ >= doc_.size() || doc_[pos_] == '\n') return false;
      ++pos_;
      while (pos_ < doc_.size() && is_continuation(doc_[pos_])) ++pos_;
    }
    if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\'')) return false;
    basic_ = doc_[pos_] == '"';
    multi_ = doc_.substr(pos_, 3) == (basic_ ? "\"\"\"" : "'''");
    skip_ascii(multi_ ? 3 : 1);
    // A newline right after the opening delimiter of a multi-line string is not part of it.
    if (multi_) skip_newline();
    return true;
  }

  // Where byte `offset` of the decoded text comes from; false when the re-read disagrees.
  bool locate(std::size_t offset, TextPosition& out) {
    std::size_t produced = 0;
    while (produced < offset) {
      if (pos_ >= doc_.size()) return false;
      char c = doc_[pos_];
      if (basic_ && c == '\\') {
        TextPosition escape = at_;
        std::size_t bytes = 0;
        if (!escape_sequence(bytes)) return false;
        produced += bytes;
        if (offset < produced) {
          out = escape;
          return true;
        }
        continue;
      }
      if (c == '\n' || (c == '\r' && doc_.substr(pos_, 2) == "\r\n")) {
        if (!multi_) return false;
        // toml++ may keep "\r\n" or give "\n"; follow what the decoded text holds.
        bool crlf = c == '\r';
        if (crlf && produced < decoded_.size() && decoded_[produced] == '\r') {
          ++produced;
          ++pos_;
          continue;
        }
        if (produced >= decoded_.size() || decoded_[produced] != '\n') return false;
        ++produced;
        skip_newline();
        continue;
      }
      std::size_t length = 1;
      while (pos_ + length < doc_.size() && is_continuation(doc_[pos_ + length])) ++length;
      if (decoded_.substr(produced, length) != doc_.substr(pos_, length)) return false;
      produced += length;
      pos_ += length;
      ++at_.column;
    }
    out = at_;
    return true;
  }

 private:
  void skip_ascii(std::size_t count) {
    pos_ += count;
    at_.column += static_cast<int>(count);
  }

  bool skip_newline() {
    if (doc_.substr(pos_, 2) == "\r\n") {
      pos_ += 2;
    } else if (pos_ < doc_.size() && doc_[pos_] == '\n') {
      ++pos_;
    } else {
      return false;
    }
    ++at_.line;
    at_.column = 1;
    return true;
  }

  // Consumes one escape at pos_ (a backslash); `bytes` is what it decodes to.
  bool escape_sequence(std::size_t& bytes) {
    if (pos_ + 1 >= doc_.size()) return false;
    char e = doc_[pos_ + 1];
    if (multi_ && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
      // A line-ending backslash: it and all whitespace and newlines after it vanish.
      skip_ascii(1);
      while (pos_ < doc_.size()) {
        char w = doc_[pos_];
        if (w == ' ' || w == '\t') {
          skip_ascii(1);
        } else if (!skip_newline()) {
          break;
        }
      }
      bytes = 0;
      return true;
    }
    std::size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits == 0) {
      if (std::string_view("btnfre\"\\").find(e) == std::string_view::npos) return false;
      skip_ascii(2);
      bytes = 1;
      return true;
    }
    std::uint32_t code_point = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      if (pos_ + 2 + i >= doc_.size()) return false;
      char h = doc_[pos_ + 2 + i];
      int value = h >= '0' && h <= '9'   ? h - '0'
                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                         : -1;
      if (value < 0) return false;
      code_point = code_point * 16 + static_cast<std::uint32_t>(value);
    }
    skip_ascii(2 + digits);
    bytes = utf8_length(code_point);
    return true;
  }

  std::string_view doc_;
  std::string_view decoded_;
  TextPosition at_;
  std::size_t pos_ = 0;
  bool basic_ = true;
  bool multi_ = false;
};

}  // namespace

TextPosition locate_in_toml_string(std::string_view document, TextPosition start,
                                   std::string_view decoded, std::size_t offset) {
  TextPosition fallback{start.line, start.column + 1 + static_cast<int>(offset)};
  StringReader reader(document, start, decoded);
  TextPosition found;
  if (!reader.find_start() || !reader.locate(offset, found)) return fallback;
  return found;
}

}  // namespace tg::policy
