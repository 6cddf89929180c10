// SPDX-License-Identifier: MIT
// Property test: detail::intrusive_list (the list under every parking lot and
// channel waiter queue) behaves like a std::list of the same elements under
// any sequence of push_back, push_front, pop_front and removal from the
// middle. After every operation the order seen walking forward, the order
// walking backward, front(), back(), size() and empty() match the model, and
// an unlinked element's links are cleared.
#include "tests/properties/property_support.hpp"

#include <anyio/detail/intrusive_list.hpp>

#include <algorithm>
#include <array>
#include <list>
#include <vector>

namespace {

struct item {
  item* prev = nullptr;
  item* next = nullptr;
  int id = 0;
  bool linked = false;
};

using list_t = anyio::detail::intrusive_list<item, &item::prev, &item::next>;

std::vector<int> forward(const list_t& l) {
  std::vector<int> out;
  for (item* n = l.front(); n != nullptr; n = list_t::next(*n)) out.push_back(n->id);
  return out;
}

std::vector<int> backward(const list_t& l) {
  std::vector<int> out;
  for (item* n = l.back(); n != nullptr; n = n->prev) out.push_back(n->id);
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("property: intrusive_list matches a std::list model", "[property][intrusive_list]") {
  anyio_properties::check_property("intrusive_list model", 500, [] {
    std::array<item, 16> items{};
    for (int i = 0; i < 16; ++i) items[std::size_t(i)].id = i;
    list_t l;
    std::list<int> model;
    const auto ops = *rc::gen::container<std::vector<std::pair<int, int>>>(
        rc::gen::pair(rc::gen::inRange(0, 4), rc::gen::inRange(0, 16)));
    for (const auto& [op, which] : ops) {
      item& it = items[std::size_t(which)];
      if (op == 0 && !it.linked) {
        l.push_back(it);
        model.push_back(it.id);
        it.linked = true;
      } else if (op == 1 && !it.linked) {
        l.push_front(it);
        model.push_front(it.id);
        it.linked = true;
      } else if (op == 2) {
        item* first = l.pop_front();
        RC_ASSERT((first == nullptr) == model.empty());
        if (first != nullptr) {
          RC_ASSERT(first->id == model.front());
          model.pop_front();
          first->linked = false;
          RC_ASSERT(first->prev == nullptr && first->next == nullptr);
        }
      } else if (op == 3 && it.linked) {
        l.remove(it);
        model.remove(it.id);
        it.linked = false;
        RC_ASSERT(it.prev == nullptr && it.next == nullptr);
      }
      const std::vector<int> expected(model.begin(), model.end());
      RC_ASSERT(forward(l) == expected);
      RC_ASSERT(backward(l) == expected);
      RC_ASSERT(l.size() == model.size());
      RC_ASSERT(l.empty() == model.empty());
      if (!model.empty()) {
        RC_ASSERT(l.front()->id == model.front());
        RC_ASSERT(l.back()->id == model.back());
      }
    }
  });
}
