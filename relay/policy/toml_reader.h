/// Reading the policy's TOML tables with `file:line: message` errors.
///
/// The checks the loader repeats for every rule and identity table: only known keys, values
/// of the right type, required keys present. The first error is kept and ends the load (later
/// ones are often its consequences). Internal to relay/policy.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace tg::policy {

class TomlReader {
 public:
  explicit TomlReader(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

  /// Records `file:line: message` (the first only) and returns false.
  bool fail(int line, const std::string& message);
  bool fail(const toml::node& node, const std::string& message) {
    return fail(line_of(node), message);
  }
  /// Records `file:line:col: message`.
  bool fail_at(int line, int column, const std::string& message);

  static int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

  /// Refuses keys of `table` not in `keys`, naming the earliest in the file; `where` says
  /// which table in messages ("[[expose]]").
  bool known_keys(const toml::table& table, std::string_view where,
                  std::initializer_list<std::string_view> keys);

  /// `key` as a non-empty string; absent is fine unless `required` (then blamed on `line`,
  /// the table's). `node` (optional) receives the value's node, for positions.
  bool string(const toml::table& table, std::string_view key, std::string_view where, bool required,
              int line, std::string& out, const toml::node** node = nullptr);

  /// `key` as an integer from `min` to `max`; absent leaves `out` as it is. `node` (optional)
  /// receives the value's node, for positions.
  bool integer(const toml::table& table, std::string_view key, std::string_view where,
               std::int64_t min, std::int64_t max, std::int64_t& out,
               const toml::node** node = nullptr);

  /// `key` as an array of strings (each element's node kept, for positions). Absent is fine
  /// unless `required`; `allow_empty` admits `[]`.
  bool strings(const toml::table& table, std::string_view key, std::string_view where,
               bool required, bool allow_empty, int line,
               std::vector<const toml::value<std::string>*>& out);

  /// `key` as an array of tables (`[[key]]`); absent gives an empty list.
  bool tables(const toml::table& table, std::string_view key, std::string_view display,
              std::vector<const toml::table*>& out);

 private:
  std::string path_;
  std::string error_;
};

}  // namespace tg::policy
