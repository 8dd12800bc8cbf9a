/// Reads the server name (SNI) from a TLS ClientHello without terminating TLS.
///
/// The accepting worker reads the first bytes a visitor sends, finds which tunnel they are
/// for, and hands the socket to the worker that owns that tunnel before any handshake work is
/// done, so the connection's bytes never cross cores afterwards. This is a pure function over
/// the bytes received so far; it never allocates and can be called again with more bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace tg::tls {

/// A ClientHello may span several TLS records; we accept up to this many bytes of it.
inline constexpr std::size_t kMaxClientHelloBytes = 16 * 1024;

enum class PeekState {
  kIncomplete,  // more bytes needed
  kComplete,    // `server_name` is set (empty when the client sent no SNI)
  kNotTls,      // the bytes are not a TLS handshake (plain HTTP on the HTTPS port, garbage)
  kMalformed,   // a TLS record, but its ClientHello is broken or too large
};

struct ClientHelloPeek {
  PeekState state = PeekState::kIncomplete;
  std::string_view server_name;  // host_name entry of server_name, a view into the input
                                 // (when the ClientHello spans records, into `scratch`)
  bool offers_http11 = false;    // ALPN lists "http/1.1" (or ALPN is absent)
};

/// `scratch` must hold kMaxClientHelloBytes; it is used only to join a ClientHello split
/// across records. Lower-cases nothing: the caller normalises the name.
ClientHelloPeek peek_client_hello(std::string_view bytes, char* scratch);

}  // namespace tg::tls
