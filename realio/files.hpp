// SPDX-License-Identifier: MIT
// realio's filesystem (realio/files.cpp), for the backend to hand out.
#pragma once
#include <anyio/detail/files.hpp>

#include <memory>

namespace anyio::realio {
std::unique_ptr<detail::filesystem> make_filesystem();
}  // namespace anyio::realio
