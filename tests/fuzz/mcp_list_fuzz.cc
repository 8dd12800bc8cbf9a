// Fuzzes filter_list_result and filter_list_response, which rewrite an MCP server's
// tools/prompts/resources list response (application/json, one response or a batch) so that
// it names only what the caller may use. The first input byte picks the call and what is
// pending (a kind for filter_list_result; any(), ids 7 and "L", or nothing for
// filter_list_response); the rest is the response. The NameFilter allows names of even
// length. Invariants:
// - the outcome agrees with the counts: kUnchanged removed and refused nothing, kRewritten
//   did one or the other, kUnreadable and kTooLarge counted nothing and consumed no pending
//   entry; over max_bytes is kTooLarge; nothing pending matches nothing;
// - parsing in place and from a copy give the same result;
// - a rewrite only removes bytes, except that each refused response becomes an error
//   response, which may be longer by at most kMaxRefusalGrowth;
// - the rewrite is idempotent: its output, filtered again the same way (fresh pending), is
//   kUnchanged, keeps as many entries, and has lists_filtered minus the refusals matched;
// - the filter only chooses among entries: with a filter that allows everything, the same
//   lists match and are refused, with the same number of entries, and filtering that output
//   with the even-length filter gives the same bytes as filtering the input with it directly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/mcp/list_filter.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tg::mcp;
using Outcome = ListRewrite::Outcome;

// The error that replaces a refused response, {"jsonrpc":"2.0","id":null,"error":{"code":
// -32603,"message":"Internal error: the relay could not filter this list"}}, is 116 bytes, or
// 112 plus the id it copies from the response it replaces.
constexpr std::size_t kMaxRefusalGrowth = 116;

bool even_names(const void*, ListKind, std::string_view name) noexcept {
  return name.size() % 2 == 0;
}

bool all_names(const void*, ListKind, std::string_view) noexcept {
  return true;
}

PendingLists pending_for(unsigned mode) {
  PendingLists pending;
  switch (mode) {
    case 3:
      pending = PendingLists::any();
      break;
    case 4:
      pending.add("7", ListKind::kTools);
      pending.add(R"("L")", ListKind::kPrompts);
      break;
    case 5:
      pending.add("7.0", ListKind::kResources);
      pending.add("7", ListKind::kTools);
      break;
    default:  // 6, 7: nothing pending
      break;
  }
  return pending;
}

ListRewrite filter(JsonBytes json, unsigned mode, NameFilter allow,
                   std::size_t max_bytes = kDefaultMaxListBytes) {
  if (mode < 3) return filter_list_result(json, static_cast<ListKind>(mode), allow, max_bytes);
  PendingLists pending = pending_for(mode);
  const std::size_t before = pending.size();
  ListRewrite rewrite = filter_list_response(json, pending, allow, max_bytes);
  if (rewrite.outcome == Outcome::kUnreadable || rewrite.outcome == Outcome::kTooLarge) {
    FUZZ_CHECK(pending.size() == before);
  } else {
    FUZZ_CHECK(pending.size() <= before);
  }
  return rewrite;
}

bool same(const ListRewrite& a, const ListRewrite& b) {
  return a.outcome == b.outcome && a.json == b.json && a.lists_filtered == b.lists_filtered &&
         a.entries_kept == b.entries_kept && a.entries_removed == b.entries_removed &&
         a.responses_refused == b.responses_refused;
}

void check_counts(std::string_view input, const ListRewrite& rewrite) {
  switch (rewrite.outcome) {
    case Outcome::kUnreadable:
    case Outcome::kTooLarge:
      FUZZ_CHECK(rewrite.json.empty() && rewrite.lists_filtered == 0 && rewrite.entries_kept == 0 &&
                 rewrite.entries_removed == 0 && rewrite.responses_refused == 0);
      return;
    case Outcome::kUnchanged:
      FUZZ_CHECK(rewrite.json.empty() && rewrite.entries_removed == 0 &&
                 rewrite.responses_refused == 0);
      break;
    case Outcome::kRewritten:
      FUZZ_CHECK(rewrite.entries_removed > 0 || rewrite.responses_refused > 0);
      FUZZ_CHECK(rewrite.json != input);
      if (rewrite.responses_refused == 0) FUZZ_CHECK(rewrite.json.size() < input.size());
      FUZZ_CHECK(rewrite.json.size() <=
                 input.size() + rewrite.responses_refused * kMaxRefusalGrowth);
      break;
  }
  FUZZ_CHECK(rewrite.responses_refused <= rewrite.lists_filtered);
  if (rewrite.lists_filtered == 0) FUZZ_CHECK(rewrite.entries_kept + rewrite.entries_removed == 0);
}

std::string_view output_of(std::string_view input, const ListRewrite& rewrite) {
  return rewrite.outcome == Outcome::kRewritten ? std::string_view(rewrite.json) : input;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0] & 7;
  const std::string_view input = tg::fuzz::as_text(data + 1, size - 1);
  const NameFilter even(nullptr, &even_names);
  const NameFilter all(nullptr, &all_names);

  const ListRewrite rewrite = filter(input, mode, even);
  check_counts(input, rewrite);
  FUZZ_CHECK(rewrite.outcome != Outcome::kTooLarge);
  if (mode >= 6) {
    FUZZ_CHECK(rewrite.outcome == Outcome::kUnchanged || rewrite.outcome == Outcome::kUnreadable);
    FUZZ_CHECK(rewrite.lists_filtered == 0);
  }

  std::string body(input);
  const JsonBytes in_place = padded(body);
  FUZZ_CHECK(same(rewrite, filter(in_place, mode, even)));

  if (!input.empty()) {
    const ListRewrite limited = filter(input, mode, even, input.size() - 1);
    FUZZ_CHECK(limited.outcome == Outcome::kTooLarge);
    check_counts(input, limited);
  }
  if (rewrite.outcome == Outcome::kUnreadable) return 0;

  if (rewrite.outcome == Outcome::kRewritten) {
    const ListRewrite again = filter(rewrite.json, mode, even);
    FUZZ_CHECK(again.outcome == Outcome::kUnchanged);
    FUZZ_CHECK(again.entries_kept == rewrite.entries_kept);
    FUZZ_CHECK(again.lists_filtered == rewrite.lists_filtered - rewrite.responses_refused);
  }

  const ListRewrite everything = filter(input, mode, all);
  check_counts(input, everything);
  FUZZ_CHECK(everything.outcome != Outcome::kUnreadable);
  FUZZ_CHECK(everything.lists_filtered == rewrite.lists_filtered);
  FUZZ_CHECK(everything.responses_refused == rewrite.responses_refused);
  FUZZ_CHECK(everything.entries_kept + everything.entries_removed ==
             rewrite.entries_kept + rewrite.entries_removed);
  FUZZ_CHECK(everything.entries_kept >= rewrite.entries_kept);
  const std::string_view everything_out = output_of(input, everything);
  const ListRewrite composed = filter(everything_out, mode, even);
  FUZZ_CHECK(composed.outcome != Outcome::kUnreadable);
  FUZZ_CHECK(output_of(everything_out, composed) == output_of(input, rewrite));
  return 0;
}
