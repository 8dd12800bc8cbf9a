/// What both head writers share: which fields describe one connection rather than the message
/// (RFC 9110 section 7.6.1) and so stop at the relay, and how a field line is appended.
/// The writers re-emit the framing and connection fields they need from the parsed head, so a
/// field dropped here can never carry a visitor's or service's spelling through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/http/http.h"

namespace tg::http::detail {

/// True for Connection, Keep-Alive, Proxy-* (and the bare "Proxy" of the httpoxy attack), TE,
/// Trailer, Transfer-Encoding, Upgrade, and any name listed by a Connection field among
/// `headers`.
bool is_hop_by_hop(std::string_view name, const Header* headers, std::size_t count);

inline void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_decimal(std::string& out, std::uint64_t value);

}  // namespace tg::http::detail
