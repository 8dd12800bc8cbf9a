// Building the name index: exact names flattened into one rule array, tries laid out with
// each node's edges side by side.
#include "relay/policy/name_index.h"

#include <algorithm>
#include <iterator>

namespace tg::policy {

void NameTrie::build() {
  nodes_.clear();
  first_byte_.clear();
  rules_.clear();
  std::sort(pending_.begin(), pending_.end());
  nodes_.emplace_back();
  first_byte_.push_back('\0');
  build_node(0, pending_.begin(), pending_.end(), 0);
  pending_.clear();
  pending_.shrink_to_fit();
}

// Entries in [begin, end) are sorted and share their first `depth` bytes. Those that end
// here are the node's rules (they sort first); the rest group by their next byte into
// children, allocated side by side. Each child swallows the bytes its whole group shares,
// up to kInlineLabel and up to the first key that ends (sorted, a group's common prefix is
// that of its first and last entries, and a key ending early sorts first).
void NameTrie::build_node(std::uint32_t index, std::vector<Entry>::const_iterator begin,
                          std::vector<Entry>::const_iterator end, std::size_t depth) {
  auto here = begin;
  std::vector<std::uint32_t> rules;
  for (; here != end && here->first.size() == depth; ++here) {
    if (rules.empty() || rules.back() != here->second) rules.push_back(here->second);
  }
  nodes_[index].rule_count = static_cast<std::uint32_t>(rules.size());
  if (rules.size() == 1) {
    nodes_[index].rules = rules[0];
  } else {
    nodes_[index].rules = static_cast<std::uint32_t>(rules_.size());
    rules_.insert(rules_.end(), rules.begin(), rules.end());
  }

  std::vector<std::vector<Entry>::const_iterator> groups;
  for (auto it = here; it != end; ++it) {
    if (groups.empty() || groups.back()->first[depth] != it->first[depth]) groups.push_back(it);
  }
  auto children = static_cast<std::uint32_t>(nodes_.size());
  nodes_[index].children_begin = children;
  nodes_[index].child_count = static_cast<std::uint16_t>(groups.size());
  nodes_.resize(nodes_.size() + groups.size());
  first_byte_.resize(nodes_.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto group_end = g + 1 < groups.size() ? groups[g + 1] : end;
    const std::string& first = groups[g]->first;
    const std::string& last = std::prev(group_end)->first;
    std::size_t shared = depth + 1;
    while (shared < first.size() && shared < last.size() && first[shared] == last[shared] &&
           shared - depth - 1 < kInlineLabel) {
      ++shared;
    }
    TrieNode& child = nodes_[children + g];
    first_byte_[children + g] = first[depth];
    child.label_length = static_cast<std::uint8_t>(shared - depth - 1);
    std::copy(first.begin() + static_cast<std::ptrdiff_t>(depth + 1),
              first.begin() + static_cast<std::ptrdiff_t>(shared), child.label);
    build_node(children + static_cast<std::uint32_t>(g), groups[g], group_end, shared);
  }
}

void NameIndex::add(const Glob& glob, std::uint32_t rule) {
  switch (glob.shape()) {
    case Glob::Shape::kExact:
      exact_pending_.emplace_back(std::string(glob.literal()), rule);
      break;
    case Glob::Shape::kPrefix:
    case Glob::Shape::kAnything:
      prefixes_.add(glob.literal(), rule);
      break;
    case Glob::Shape::kSuffix: {
      std::string reversed(glob.literal().rbegin(), glob.literal().rend());
      suffixes_.add(reversed, rule);
      break;
    }
    case Glob::Shape::kContains:
    case Glob::Shape::kGeneral:
      general_.emplace_back(glob, rule);
      break;
  }
}

void NameIndex::build() {
  std::sort(exact_pending_.begin(), exact_pending_.end());
  exact_.clear();
  exact_rules_.clear();
  for (std::size_t i = 0; i < exact_pending_.size();) {
    const std::string& name = exact_pending_[i].first;
    auto first = static_cast<std::uint32_t>(exact_rules_.size());
    for (; i < exact_pending_.size() && exact_pending_[i].first == name; ++i) {
      if (exact_rules_.size() == first || exact_rules_.back() != exact_pending_[i].second) {
        exact_rules_.push_back(exact_pending_[i].second);
      }
    }
    exact_.emplace(name, std::pair{first, static_cast<std::uint32_t>(exact_rules_.size()) - first});
  }
  exact_pending_.clear();
  exact_pending_.shrink_to_fit();
  prefixes_.build();
  suffixes_.build();
}

}  // namespace tg::policy
