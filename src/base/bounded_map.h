// BoundedMap keeps the newest `capacity` keys it was given, each with a
// value: inserting one key more forgets the oldest. For what a process
// remembers of an unbounded stream (ids seen lately) without growing with it.
// Thread-compatible.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index/sequenced_index.hpp>
#include <boost/multi_index_container.hpp>

namespace sbx {

template <typename K, typename V>
class BoundedMap {
 public:
  explicit BoundedMap(size_t capacity) : capacity_(capacity) {}

  // Sets key's value. A new key is the newest; a known one keeps its place.
  // Returns true if the key was new.
  bool Put(K key, V value) {
    auto& by_key = entries_.template get<1>();
    if (auto it = by_key.find(key); it != by_key.end()) {
      by_key.modify(it, [&](Entry& e) { e.value = std::move(value); });
      return false;
    }
    entries_.push_back(Entry{std::move(key), std::move(value)});
    while (entries_.size() > capacity_) entries_.pop_front();
    return true;
  }

  const V* Find(const K& key) const {
    const auto& by_key = entries_.template get<1>();
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : &it->value;
  }
  bool Contains(const K& key) const { return Find(key) != nullptr; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    K key;
    V value;
  };
  // Insertion order (oldest first), and a hash index by key.
  using Entries = boost::multi_index_container<
      Entry, boost::multi_index::indexed_by<
                 boost::multi_index::sequenced<>,
                 boost::multi_index::hashed_unique<
                     boost::multi_index::member<Entry, K, &Entry::key>>>>;
  size_t capacity_;
  Entries entries_;
};

}  // namespace sbx
