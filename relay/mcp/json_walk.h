// Internal to relay/mcp: the per-thread simdjson workspace and the walker that reads every
// value of a document once, checking what On-Demand leaves unchecked.
//
// simdjson On-Demand validates only what is read: stage 1 checks UTF-8, string quoting and
// control characters; skipping a value only counts brackets. So the walker reads everything:
// containers through their iterators (which check commas, colons and nesting), strings
// through get_string (escapes, surrogates), and numbers and literals against the RFC 8259
// grammar on their raw token. It also keeps each object's unescaped keys on a stack to find a
// key repeated in the same object, which On-Demand does not detect.
//
// Faults are hard (the text is not valid JSON, or nests too deep: the walk stops) or soft (a
// repeated key, or a rule of the caller's: the walk goes on, so that a later syntax error
// still wins and the reported code does not depend on key order).
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/mcp/mcp.h"

namespace tg::mcp::detail {

namespace od = simdjson::ondemand;

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING);

/// One per thread: reused by every call on that thread, never shared.
struct Workspace {
  od::parser parser;
  std::string copy;                    // padded copy of input that came without padding
  std::vector<std::string_view> keys;  // keys of the objects being walked, innermost last
};
Workspace& workspace();

/// Starts `doc` over `input` (in place when padded, else through workspace().copy) and sets
/// `parsed` to the bytes simdjson reads (the input itself or the copy).
simdjson::error_code start_document(Workspace& ws, JsonBytes input, od::document& doc,
                                    std::string_view& parsed);

enum class Fault : std::uint8_t { kNone, kSyntax, kTooDeep };

inline bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
std::string_view trim_json_space(std::string_view text);
std::string_view trim_json_space_right(std::string_view text);
/// RFC 8259 number grammar; integer: without fraction or exponent.
bool is_json_number(std::string_view token);
bool is_json_integer(std::string_view token);

/// A JSON-RPC id, normalised the way servers echo it back: strings by their unescaped text,
/// numbers by their double value (JavaScript's).
struct IdValue {
  enum class Type : std::uint8_t { kAbsent, kString, kNumber, kNull, kOther };
  Type type = Type::kAbsent;
  std::string_view raw;   // the trimmed JSON token
  std::string_view text;  // kString: unescaped (valid until the next document)
  double number = 0;      // kNumber
};
bool same_id(const IdValue& a, const IdValue& b);
bool parse_number(std::string_view token, double& out);

class Walker {
 public:
  Walker(Workspace& ws, std::size_t max_depth) : keys_(ws.keys), max_depth_(max_depth) {
    keys_.clear();
  }

  /// A repeated key seen since the last take_duplicate().
  bool take_duplicate() {
    const bool seen = duplicate_;
    duplicate_ = false;
    return seen;
  }
  /// Puts back what take_duplicate() took (for a caller that set a part aside).
  void restore_duplicate(bool seen) { duplicate_ = duplicate_ || seen; }

  /// Reads and checks all of `value`; `depth` is the depth of the container holding it.
  Fault skip(od::value& value, std::size_t depth);

  /// Reads a string value: `out` is its unescaped text, `raw` its JSON token (quotes included).
  Fault string(od::value& value, std::string_view& out, std::string_view& raw);

  /// Reads an id of any type (checking it like skip()).
  Fault id(od::value& value, std::size_t depth, IdValue& out);

  /// Iterates an object at depth `depth`: on_field(key, value) for each member, keys checked
  /// for repeats. on_field returns a Fault; kNone to go on.
  template <typename OnField>
  Fault object(od::object& object, std::size_t depth, OnField&& on_field) {
    if (depth > max_depth_) return Fault::kTooDeep;
    const std::size_t first_key = keys_.size();
    for (auto field_result : object) {
      od::field field;
      if (std::move(field_result).get(field) != simdjson::SUCCESS) return Fault::kSyntax;
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) return Fault::kSyntax;
      keys_.push_back(key);
      if (const Fault fault = on_field(key, field.value()); fault != Fault::kNone) return fault;
    }
    note_duplicates(first_key);
    keys_.resize(first_key);
    return Fault::kNone;
  }

  /// Iterates an array at depth `depth`: on_element(value) for each element.
  template <typename OnElement>
  Fault array(od::array& array, std::size_t depth, OnElement&& on_element) {
    if (depth > max_depth_) return Fault::kTooDeep;
    for (auto element_result : array) {
      od::value element;
      // NOLINTNEXTLINE(performance-move-const-arg): simdjson's get() takes an rvalue result
      if (std::move(element_result).get(element) != simdjson::SUCCESS) return Fault::kSyntax;
      if (const Fault fault = on_element(element); fault != Fault::kNone) return fault;
    }
    return Fault::kNone;
  }

 private:
  void note_duplicates(std::size_t first_key);

  std::vector<std::string_view>& keys_;
  std::size_t max_depth_;
  bool duplicate_ = false;
};

/// The bytes of a value whose first token (raw_json_token, taken before reading it) was
/// `first_token`, once it has been walked: a container ends before the document's next token,
/// a scalar with its token. `parsed` is the whole text.
std::string_view walked_value(od::document& doc, std::string_view first_token,
                              std::string_view parsed);

/// After the root value was walked: true when only whitespace follows.
bool at_document_end(od::document& doc);

}  // namespace tg::mcp::detail
