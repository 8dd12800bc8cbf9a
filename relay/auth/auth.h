/// The relay's own authorization server: the part of tunnelgate that signs people and MCP
/// clients in, beside the proxy rather than inside it.
///
/// It will own the auth host (`https://auth.DOMAIN`): RFC 8414 metadata, client
/// identification (configured clients, Client ID Metadata Documents, Dynamic Client
/// Registration), the authorization and token endpoints, consent, browser sessions and the
/// hand-off that sets a tunnel's session cookie, all federating the operator's OpenID
/// providers. What it issues is checked on the data path like any other credential, so this
/// folder keeps what a worker runs per request small and pure.
///
/// Today it holds the primitives those endpoints are built from, each a pure function (or a
/// value type) over the caller's bytes, unit-tested and fuzzed on its own:
///   - sealed_box.h: AES-256-GCM sealed values under a keyring in the state folder, bound to
///     a purpose, so state can be carried by the client (codes, cookies, registrations)
///     instead of kept in server-side tables that a later cluster would have to share;
///   - pkce.h: RFC 7636 S256 code verifiers and challenges;
///   - redirect_uri.h: which redirect URIs a client may register, and the exact match the
///     authorization endpoint applies (any port for loopback, RFC 8252 §7.3);
///   - form_fields.h: application/x-www-form-urlencoded bodies and query strings, strict
///     (no repeated parameter, RFC 6749 §3.1), bounded in size and count.
/// Nothing here reads the clock or the network; callers pass `now` and bytes in. The one
/// exception is upstream/ (upstream/upstream_client.h): the blocking client, for control
/// threads only, that signs a person in through an operator's OpenID provider (discovery,
/// authorization URL, code exchange, id_token verification), over pure parsers of the
/// provider's answers.
#pragma once

#include "relay/auth/form_fields.h"
#include "relay/auth/pkce.h"
#include "relay/auth/redirect_uri.h"
#include "relay/auth/sealed_box.h"
