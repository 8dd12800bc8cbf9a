// Fuzzes SseListFilter, which rewrites tools/prompts/resources lists inside a response stream
// while everything else streams through. The first input byte picks what is pending (list ids
// 7 and "L", any list, or nothing), the event cap and a split point; the rest is the stream.
// Invariants:
// - the output and the verdict do not depend on how reads cut the stream: whole, cut once,
//   and one byte at a time all give the same bytes;
// - with nothing pending the output is the input;
// - the output, filtered again the same way, is unchanged (a rewrite leaves nothing to filter
//   and keeps the events framed as they were), unless it starts with a BOM the input lacked.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/mcp/list_filter.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tg::mcp;

// A deterministic policy: names of even length are allowed.
bool even_names(const void*, ListKind, std::string_view name) noexcept {
  return name.size() % 2 == 0;
}

PendingLists pending_for(unsigned mode) {
  PendingLists pending;
  switch (mode) {
    case 0:
      pending.add("7", ListKind::kTools);
      pending.add(R"("L")", ListKind::kPrompts);
      break;
    case 1:
      pending = PendingLists::any();
      break;
    case 2:
      pending.add("7", ListKind::kResources);
      break;
    default:
      break;
  }
  return pending;
}

struct Output {
  std::string bytes;
  bool ok = true;
};

template <typename Pieces>
Output run(const Pieces& pieces, unsigned mode, std::size_t cap) {
  SseListFilter filter(pending_for(mode), NameFilter(nullptr, &even_names), cap);
  Output output;
  for (std::string_view piece : pieces) {
    const std::size_t before = output.bytes.size();
    const bool ok = filter.feed(piece, output.bytes);
    if (!output.ok) FUZZ_CHECK(!ok && output.bytes.size() == before);
    output.ok = output.ok && ok;
  }
  filter.finish(output.bytes);
  FUZZ_CHECK(output.ok == !filter.failed());
  return output;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0] & 3;
  const std::size_t cap = (data[0] & 4) ? 96 : SseListFilter::kDefaultMaxEventBytes;
  const std::string_view stream = tg::fuzz::as_text(data + 1, size - 1);
  const std::size_t split = stream.size() * (data[0] >> 3) / 31;

  const std::string_view whole_pieces[] = {stream};
  const Output whole = run(whole_pieces, mode, cap);
  if (mode == 3) FUZZ_CHECK(whole.ok && whole.bytes == stream);

  const std::string_view split_pieces[] = {stream.substr(0, split), stream.substr(split)};
  const Output cut = run(split_pieces, mode, cap);
  FUZZ_CHECK(cut.ok == whole.ok && cut.bytes == whole.bytes);

  std::vector<std::string_view> bytes;
  bytes.reserve(stream.size());
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.push_back(stream.substr(i, 1));
  const Output one_by_one = run(bytes, mode, cap);
  FUZZ_CHECK(one_by_one.ok == whole.ok && one_by_one.bytes == whole.bytes);

  // Removing an event's data can leave the stream starting with bytes that look like a BOM
  // (the start of a field name before); read again, they would be taken for one.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (whole.ok && (!whole.bytes.starts_with(kBom) || stream.starts_with(kBom))) {
    const std::string_view again_pieces[] = {whole.bytes};
    const Output again = run(again_pieces, mode, SseListFilter::kDefaultMaxEventBytes);
    FUZZ_CHECK(again.ok && again.bytes == whole.bytes);
  }
  return 0;
}
