/// The relay's own pages for people: sign-in, consent, signed out, and errors. Plain
/// server-rendered HTML, no scripts, no external assets (auth_server.cc sends them with a
/// Content-Security-Policy that allows nothing else and `frame-ancestors 'none'`). Every
/// value from a request is escaped. Pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace tg::auth {

/// `text` with & < > " ' as character references.
std::string html_escape(std::string_view text);

struct ProviderLink {
  std::string name;  // what the button says
  std::string href;  // where it starts the sign-in
};

struct SigninPage {
  std::span<const ProviderLink> providers;
  bool dev_form = false;        // the --dev page: a field that signs in any email
  std::string_view return_to;   // carried through the dev form
  std::string_view form_token;  // the dev form's CSRF token
};
std::string signin_page(const SigninPage& page);

struct ConsentPage {
  std::string_view client_name;    // as registered (may be "")
  std::string_view client_id;      // shown when it is a URL
  std::string_view redirect_host;  // where the browser goes next
  std::string_view resource;       // the tunnel
  std::string_view scope;          // "" when none
  std::string_view email;          // who is signed in
  std::string_view request;        // the sealed pending request
  std::string_view csrf;           // the form's CSRF token
};
std::string consent_page(const ConsentPage& page);

std::string message_page(std::string_view title, std::string_view message);

}  // namespace tg::auth
