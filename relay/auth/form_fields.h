/// application/x-www-form-urlencoded, strictly: the body of every OAuth token, registration,
/// revocation and consent POST, and the query string of the authorization endpoint.
///
/// RFC 6749 §3.1 says a parameter must not appear twice, and a server that keeps "the first"
/// or "the last" of two `redirect_uri`s invites the confusion attackers look for, so a
/// repeated name is an error. Decoding follows the WHATWG URL standard (`+` is a space, `%XX`
/// a byte, empty `&&` sequences skipped), except that malformed percent-encoding and NUL
/// (raw or `%00`) are errors rather than passed through. Bounded: at most `kMaxFormFields` fields,
/// and the caller bounds the text (a request body's size limit).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::auth {

inline constexpr std::size_t kMaxFormFields = 64;

class FormFields {
 public:
  struct Field {
    std::string name;
    std::string value;
  };

  static Result<FormFields> parse(std::string_view text);

  /// The decoded value of `name`, or nullptr when absent.
  const std::string* find(std::string_view name) const;
  /// The decoded value of `name`, or empty when absent.
  std::string_view get(std::string_view name) const;
  const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
};

/// `text` percent-encoded for a query string or form value: everything but ALPHA, DIGIT and
/// `-._~` is escaped (spaces as %20), so the result reads back the same in any parser.
std::string form_encode(std::string_view text);

}  // namespace tg::auth
