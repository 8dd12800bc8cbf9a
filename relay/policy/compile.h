/// Compiles policy expressions: parse, type check, then lower into a shared Program.
///
/// `compile_expression` is the whole front end for one expression text. Failures carry the
/// byte offset of the problem in the text; the loader turns it into `file:line:col`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "relay/policy/attributes.h"
#include "relay/policy/expr_error.h"
#include "relay/policy/program.h"
#include "relay/policy/string_pool.h"

namespace tg::policy {

struct CompileResult {
  std::uint32_t root = 0;  // the expression's root node in the program
  std::optional<ExprError> error;
};

/// Appends the compiled `text` to `program`, interning its strings in `pool`. On error the
/// program may hold unreachable nodes; the caller discards the whole load.
CompileResult compile_expression(std::string_view text, Phase phase, Program& program,
                                 StringPool& pool);

}  // namespace tg::policy
