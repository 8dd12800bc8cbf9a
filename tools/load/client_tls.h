/// The visitor's TLS: the project's wolfSSL client context and TLS over memory.
///
/// Sessions run over the relay's own `tg::tls::TlsStream` (TLS over memory): ciphertext from
/// the ring's receive buffers is fed in, ciphertext to send is taken out, and wolfSSL never
/// sees a socket, so the visitor thread batches every send and receive on its io_uring. The
/// context (`tg::tls::ClientTlsContext`) verifies the relay's certificate against the CA given
/// with --ca and the name the connection asked for (SNI = NAME.DOMAIN), offers TLS 1.3 and 1.2
/// with the relay's AEAD suites, X25519 first (the group real clients lead with), and ALPN
/// http/1.1. Every handshake is a full one: the tool measures what a new visitor costs. One
/// context per visitor thread, like the relay's one per worker: nothing TLS is shared.
#pragma once

#include "tls/tls.h"

namespace tg::load {

using ClientTlsContext = tg::tls::ClientTlsContext;

/// TLS over memory for the client side: the relay's own stream, which handshakes by the
/// session's side.
using ClientTlsStream = tg::tls::TlsStream;

}  // namespace tg::load
