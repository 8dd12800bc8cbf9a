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
/// The endpoints: auth_server.h (every page and endpoint, one instance per sign-in thread),
/// auth_service.h (the sign-in threads, which trade auth::Exchange values with the workers
/// through the mailboxes), auth_state.h (the little that must stay on the server: used codes,
/// refresh-token families, the registration rate), client_metadata_fetch.h (Client ID
/// Metadata Documents, with the SSRF defence), pages.h (the HTML).
///
/// The pure pieces those endpoints are built from, each unit-tested and fuzzed on its own:
///   - grants.h: what codes, refresh tokens, hand-offs, sessions and registrations carry;
///   - client_registration.h: DCR requests and Client ID Metadata Documents, strictly;
///   - cookies.h: reading the relay's cookies and removing them before a service sees them;
///   - sealed_box.h: AES-256-GCM sealed values under a keyring in the state folder, bound to
///     a purpose, so state can be carried by the client (codes, cookies, registrations)
///     instead of kept in server-side tables that a later cluster would have to share;
///   - pkce.h: RFC 7636 S256 code verifiers and challenges;
///   - redirect_uri.h: which redirect URIs a client may register, and the exact match the
///     authorization endpoint applies (any port for loopback, RFC 8252 §7.3);
///   - form_fields.h: application/x-www-form-urlencoded bodies and query strings, strict
///     (no repeated parameter, RFC 6749 §3.1), bounded in size and count.
/// None of those reads the clock or the network; callers pass `now` and bytes in. The one
/// exception is upstream/ (upstream/upstream_client.h): the blocking client, for control
/// threads only, that signs a person in through an operator's OpenID provider (discovery,
/// authorization URL, code exchange, id_token verification), over pure parsers of the
/// provider's answers.
#pragma once

#include "relay/auth/client_registration.h"
#include "relay/auth/cookies.h"
#include "relay/auth/form_fields.h"
#include "relay/auth/grants.h"
#include "relay/auth/pkce.h"
#include "relay/auth/redirect_uri.h"
#include "relay/auth/sealed_box.h"
