/// Which rules a tunnel name falls under, at a cost set by the name, not by the policy.
///
/// Rules are scoped by name globs. Matching every glob of every rule would make a decision
/// cost grow with the policy; instead each glob is filed by its shape at load:
/// - exact names ("billing") in a hash map: one lookup;
/// - prefixes ("alice-*", and "*" as the empty prefix) in a trie walked along the name:
///   one step per character, each step a scan of the node's few edges;
/// - suffixes ("*-staging") in a second trie, walked from the name's end;
/// - everything else ("*-api-*", "a?c", "[ab]-*") in a list matched glob by glob.
/// So the cost is O(name length + number of general globs): constant in the number of
/// tunnels and of rules scoped to other names, as long as few globs are general.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "relay/policy/glob.h"

namespace tg::policy {

/// A trie of byte strings, each ending node holding the rules filed under it.
///
/// Laid out for few cache misses per step: chains of nodes without rules or branches are
/// merged into one node carrying up to kInlineLabel bytes (a radix tree, so "tenant-4242-"
/// is a handful of steps, not twelve); a node's children sit side by side, so finding the
/// child for a byte scans one short run of bytes (`first_byte_`) and indexes the node; and
/// a node with a single rule holds it inline.
class NameTrie {
 public:
  void add(std::string_view key, std::uint32_t rule) { pending_.emplace_back(key, rule); }
  void build();
  bool empty() const {
    return nodes_.empty() || (nodes_[0].rule_count == 0 && nodes_[0].child_count == 0);
  }

  /// Visits the rules of every key that is a prefix of `text` (of its reverse, when
  /// `from_end`): the keys met while walking `text` down the trie.
  template <typename Visit>
  void walk(std::string_view text, bool from_end, Visit&& visit) const {
    if (nodes_.empty()) return;
    const TrieNode* node = &nodes_[0];
    std::size_t i = 0;
    while (true) {
      if (node->rule_count == 1) {
        visit(node->rules);
      } else {
        for (std::uint32_t r = 0; r < node->rule_count; ++r) visit(rules_[node->rules + r]);
      }
      if (i == text.size() || node->child_count == 0) return;
      const char c = at(text, i++, from_end);
      const char* bytes = first_byte_.data() + node->children_begin;
      std::uint32_t e = 0;
      while (e < node->child_count && bytes[e] != c) ++e;
      if (e == node->child_count) return;
      node = &nodes_[node->children_begin + e];
      // The merged chain's label must follow in full.
      if (node->label_length > text.size() - i) return;
      for (std::uint32_t k = 0; k < node->label_length; ++k) {
        if (at(text, i + k, from_end) != node->label[k]) return;
      }
      i += node->label_length;
    }
  }

 private:
  static constexpr std::size_t kInlineLabel = 17;
  struct TrieNode {
    std::uint32_t children_begin = 0;  // in nodes_ and first_byte_
    std::uint32_t rules = 0;           // the rule itself when rule_count is 1, else in rules_
    std::uint32_t rule_count = 0;
    std::uint16_t child_count = 0;
    std::uint8_t label_length = 0;  // bytes after the edge's own byte, up to kInlineLabel
    char label[kInlineLabel] = {};
  };
  static_assert(sizeof(TrieNode) == 32);
  using Entry = std::pair<std::string, std::uint32_t>;

  static char at(std::string_view text, std::size_t i, bool from_end) {
    return from_end ? text[text.size() - 1 - i] : text[i];
  }

  void build_node(std::uint32_t index, std::vector<Entry>::const_iterator begin,
                  std::vector<Entry>::const_iterator end, std::size_t depth);

  std::vector<Entry> pending_;  // until build()
  std::vector<TrieNode> nodes_;
  std::vector<char> first_byte_;  // parallel to nodes_: the byte that leads to each node
  std::vector<std::uint32_t> rules_;
};

class NameIndex {
 public:
  /// Files `glob` as one of rule `rule`'s scopes. Call build() after the last add().
  void add(const Glob& glob, std::uint32_t rule);
  void build();

  /// Calls `visit(rule)` for each rule with a glob matching `name`. A rule whose several
  /// globs match is visited once per glob; the order is the index's, not the file's.
  template <typename Visit>
  void for_each_match(std::string_view name, Visit&& visit) const {
    if (!exact_.empty()) {
      if (auto found = exact_.find(name); found != exact_.end()) {
        for (std::uint32_t i = 0; i < found->second.second; ++i) {
          visit(exact_rules_[found->second.first + i]);
        }
      }
    }
    prefixes_.walk(name, false, visit);
    if (!suffixes_.empty()) suffixes_.walk(name, true, visit);
    for (const auto& [glob, rule] : general_) {
      if (glob.matches(name)) visit(rule);
    }
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };

  // name -> (first, count) in exact_rules_
  std::unordered_map<std::string, std::pair<std::uint32_t, std::uint32_t>, Hash, std::equal_to<>>
      exact_;
  std::vector<std::pair<std::string, std::uint32_t>> exact_pending_;
  std::vector<std::uint32_t> exact_rules_;
  NameTrie prefixes_;
  NameTrie suffixes_;
  std::vector<std::pair<Glob, std::uint32_t>> general_;
};

}  // namespace tg::policy
