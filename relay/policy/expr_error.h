/// An error in one expression, at a byte offset of its text. The policy loader turns the
/// offset into `file:line:col` (source_position.h).
#pragma once

#include <cstdint>
#include <string>

namespace tg::policy {

struct ExprError {
  std::uint32_t offset = 0;  // byte offset into the expression's (decoded) text
  std::string message;
};

}  // namespace tg::policy
