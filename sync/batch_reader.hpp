// The fast path of wire::decodeBatch: a well-formed body read through simdjson, no nlohmann tree.
#pragma once
#include <cstddef>
#include <expected>
#include <optional>
#include <string_view>

#include "sync/wire.hpp"

namespace segue::wire::detail {

/// Deeper nesting than any valid body has is refused before a JSON tree is built (nlohmann's
/// dump() and comparison recurse: a body of a million '[' would overflow the stack).
inline constexpr int kMaxNesting = 32;
/// The longest device or record id echoed back in an error or a rejection.
inline constexpr std::size_t kMaxEchoedIdLength = 64;

/// Decodes `body` when it is a batch every record of which decodes and validates: simdjson
/// parses it (validating all of it, values under unknown keys included) and its DOM is read
/// straight into core::Response (an nlohmann tree of a thousand records costs HQ more than
/// storing them). Gives up with nullopt at the first thing it does not expect — a wrong type, a
/// key given twice, a record core::validate refuses, nesting deeper than the tree path allows, a
/// \u escape (where the two parsers differ on lone surrogates) — and decodeBatch then takes the
/// tree path, which names what is wrong. So what it returns is exactly what the tree path would,
/// or nothing.
std::optional<DecodedBatch> readWellFormedBatch(std::string_view body);

/// The other path of decodeBatch: the whole body as a JSON tree, each record through
/// core::fromJson and core::validate, every failure named.
std::expected<DecodedBatch, DecodeFailure> decodeBatchWithTree(std::string_view body);

} // namespace segue::wire::detail
