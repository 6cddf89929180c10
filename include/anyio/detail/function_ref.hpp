// SPDX-License-Identifier: MIT
// function_ref: a non-owning, non-allocating reference to a callable. The
// kernel stores abort functions this way: the callable lives in the parked
// task's frame for exactly as long as the wait, so no copy is ever needed.
#pragma once
#include <memory>
#include <type_traits>
#include <utility>

namespace anyio::detail {

template <class Sig> class function_ref;

template <class R, class... Args> class function_ref<R(Args...)> {
 public:
  function_ref() noexcept = default;

  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, function_ref> &&
             std::is_invocable_r_v<R, F&, Args...>)
  function_ref(F&& f) noexcept  // NOLINT: implicit by design, like std::function_ref
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }
  explicit operator bool() const noexcept { return call_ != nullptr; }

 private:
  void* obj_ = nullptr;
  R (*call_)(void*, Args...) = nullptr;
};

}  // namespace anyio::detail
