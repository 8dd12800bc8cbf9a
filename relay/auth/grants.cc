#include "relay/auth/grants.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "relay/auth/form_fields.h"
#include "relay/identity/base64url.h"

namespace tg::auth {
namespace {

// Groups travel as one field: names joined by a byte no group name may hold.
constexpr char kListSeparator = '\x1f';

class Writer {
 public:
  Writer& add(std::string_view name, std::string_view value) {
    if (!text_.empty()) text_.push_back('&');
    text_.append(name).push_back('=');
    text_.append(form_encode(value));
    return *this;
  }
  Writer& add(std::string_view name, std::int64_t value) {
    return add(name, std::to_string(value));
  }
  Writer& add(std::string_view name, const std::vector<std::string>& list) {
    // Empty items are left out (they mean nothing here), so that reading the text back gives
    // exactly the list written.
    std::string joined;
    for (const std::string& item : list) {
      if (item.empty()) continue;
      if (!joined.empty()) joined.push_back(kListSeparator);
      joined.append(item);
    }
    return add(name, std::string_view(joined));
  }
  Writer& add(const Person& person) {
    return add("u", person.sub)
        .add("e", person.email)
        .add("m", person.name)
        .add("i", person.idp)
        .add("g", person.groups);
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

bool read_number(std::string_view text, std::int64_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t end = text.find(kListSeparator);
    if (end != 0) out.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

Person read_person(const FormFields& fields) {
  Person person;
  person.sub = fields.get("u");
  person.email = fields.get("e");
  person.name = fields.get("m");
  person.idp = fields.get("i");
  person.groups = split_list(fields.get("g"));
  return person;
}

Result<FormFields> parse(std::string_view text, std::string_view what) {
  auto fields = FormFields::parse(text);
  if (!fields) return make_error(std::string(what) + " is malformed");
  return fields;
}

}  // namespace

std::string encode(const CodeGrant& grant) {
  return Writer()
      .add("j", grant.id)
      .add("c", grant.client_id)
      .add("r", grant.redirect_uri)
      .add("p", grant.challenge)
      .add("a", grant.resource)
      .add("s", grant.scope)
      .add(grant.person)
      .add("x", grant.expires)
      .take();
}

std::string encode(const RefreshGrant& grant) {
  return Writer()
      .add("f", grant.family)
      .add("n", static_cast<std::int64_t>(grant.generation))
      .add("c", grant.client_id)
      .add("a", grant.resource)
      .add("s", grant.scope)
      .add(grant.person)
      .add("x", grant.family_expires)
      .take();
}

std::string encode(const Handoff& handoff) {
  return Writer()
      .add("j", handoff.id)
      .add("h", handoff.host)
      .add("p", handoff.path)
      .add(handoff.person)
      .add("x", handoff.expires)
      .take();
}

std::string encode(const AuthSession& session) {
  return Writer().add("j", session.id).add(session.person).add("x", session.expires).take();
}

std::string encode(const Registration& registration) {
  return Writer()
      .add("n", registration.name)
      .add("r", registration.redirect_uris)
      .add("t", registration.issued)
      .take();
}

Result<CodeGrant> decode_code(std::string_view text) {
  auto fields = parse(text, "code");
  if (!fields) return fields.error();
  CodeGrant grant;
  grant.id = fields->get("j");
  grant.client_id = fields->get("c");
  grant.redirect_uri = fields->get("r");
  grant.challenge = fields->get("p");
  grant.resource = fields->get("a");
  grant.scope = fields->get("s");
  grant.person = read_person(*fields);
  if (grant.id.empty() || !read_number(fields->get("x"), grant.expires)) {
    return make_error("code is malformed");
  }
  return grant;
}

Result<RefreshGrant> decode_refresh(std::string_view text) {
  auto fields = parse(text, "refresh token");
  if (!fields) return fields.error();
  RefreshGrant grant;
  std::int64_t generation = 0;
  grant.family = fields->get("f");
  grant.client_id = fields->get("c");
  grant.resource = fields->get("a");
  grant.scope = fields->get("s");
  grant.person = read_person(*fields);
  if (grant.family.empty() || !read_number(fields->get("n"), generation) || generation < 0 ||
      !read_number(fields->get("x"), grant.family_expires)) {
    return make_error("refresh token is malformed");
  }
  grant.generation = static_cast<std::uint64_t>(generation);
  return grant;
}

Result<Handoff> decode_handoff(std::string_view text) {
  auto fields = parse(text, "hand-off");
  if (!fields) return fields.error();
  Handoff handoff;
  handoff.id = fields->get("j");
  handoff.host = fields->get("h");
  handoff.path = fields->get("p");
  handoff.person = read_person(*fields);
  if (handoff.id.empty() || !read_number(fields->get("x"), handoff.expires)) {
    return make_error("hand-off is malformed");
  }
  return handoff;
}

Result<AuthSession> decode_auth_session(std::string_view text) {
  auto fields = parse(text, "session");
  if (!fields) return fields.error();
  AuthSession session;
  session.id = fields->get("j");
  session.person = read_person(*fields);
  if (session.id.empty() || !read_number(fields->get("x"), session.expires)) {
    return make_error("session is malformed");
  }
  return session;
}

Result<Registration> decode_registration(std::string_view text) {
  auto fields = parse(text, "client registration");
  if (!fields) return fields.error();
  Registration registration;
  registration.name = fields->get("n");
  registration.redirect_uris = split_list(fields->get("r"));
  if (registration.redirect_uris.empty() || !read_number(fields->get("t"), registration.issued)) {
    return make_error("client registration is malformed");
  }
  return registration;
}

Result<std::string> random_id() {
  std::array<std::uint8_t, 16> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t got = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return make_error("getrandom failed");
    filled += static_cast<std::size_t>(got);
  }
  return identity::encode_base64url(std::span<const std::uint8_t>(bytes));
}

}  // namespace tg::auth
