#include "relay/auth/pages.h"

namespace tg::auth {
namespace {

constexpr std::string_view kStyle =
    "body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em;"
    "color:#222}h1{font-size:1.4em}form{margin:1em 0}button,input{font:inherit;padding:.4em "
    ".8em}.dev{border:2px dashed #c60;padding:1em}.dev b{color:#c60}code{background:#eee;"
    "padding:0 .2em}";

std::string page(std::string_view title, std::string_view body) {
  std::string html =
      "<!doctype html><html lang=en><head><meta charset=utf-8>"
      "<meta name=viewport content=\"width=device-width\"><title>";
  html.append(html_escape(title)).append(" · tunnelgate</title><style>");
  html.append(kStyle).append("</style></head><body><h1>");
  html.append(html_escape(title)).append("</h1>").append(body).append("</body></html>\n");
  return html;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string signin_page(const SigninPage& signin) {
  std::string body;
  if (signin.providers.empty() && !signin.dev_form) {
    body.append("<p>This relay has no identity provider configured.</p>");
  }
  for (const ProviderLink& provider : signin.providers) {
    body.append("<p><a href=\"").append(html_escape(provider.href)).append("\">Sign in with ");
    body.append(html_escape(provider.name)).append("</a></p>");
  }
  if (signin.dev_form) {
    body.append(
        "<div class=dev><p><b>Development sign-in</b> (tunnelgate --dev only): signs in any "
        "email you type, with no identity provider.</p><form method=post action=\"/signin/dev\">"
        "<input type=hidden name=return_to value=\"");
    body.append(html_escape(signin.return_to)).append("\"><input type=hidden name=csrf value=\"");
    body.append(html_escape(signin.form_token));
    body.append(
        "\"><p><label>Email <input name=email type=email required></label></p><p><label>Groups "
        "(comma-separated) <input name=groups></label></p><button type=submit>Sign in</button>"
        "</form></div>");
  }
  return page("Sign in", body);
}

std::string consent_page(const ConsentPage& consent) {
  std::string body = "<p>";
  if (!consent.client_name.empty()) {
    body.append("<b>").append(html_escape(consent.client_name)).append("</b>");
  } else {
    body.append("An application");
  }
  body.append(" (it will return to <code>").append(html_escape(consent.redirect_host));
  body.append("</code>) asks to call <code>").append(html_escape(consent.resource));
  body.append("</code> as <b>").append(html_escape(consent.email)).append("</b>");
  if (!consent.scope.empty()) {
    body.append(" with the scopes <code>").append(html_escape(consent.scope)).append("</code>");
  }
  body.append(".</p>");
  if (consent.client_id.starts_with("https://")) {
    body.append("<p>Client: <code>").append(html_escape(consent.client_id)).append("</code></p>");
  }
  body.append("<form method=post action=\"/consent\"><input type=hidden name=request value=\"");
  body.append(html_escape(consent.request)).append("\"><input type=hidden name=csrf value=\"");
  body.append(html_escape(consent.csrf));
  body.append(
      "\"><button type=submit name=decision value=allow>Allow</button> <button type=submit "
      "name=decision value=deny>Deny</button></form>");
  return page("Allow access?", body);
}

std::string message_page(std::string_view title, std::string_view message) {
  return page(title, "<p>" + html_escape(message) + "</p>");
}

}  // namespace tg::auth
