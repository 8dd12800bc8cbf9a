// Fuzzes AuthorizedKeys::load, the OpenSSH authorized_keys reader (line splitting and options
// here, key decoding in libssh). It reads a path, so each input is written to a memfd and
// loaded as /proc/self/fd/N. The file is the operator's; the stakes are a relay that starts
// or refuses to with a clear message. Checked beyond memory safety and leaks (every ssh_key
// is freed):
// - a loaded file holds at most one key per line, and no key has an empty fingerprint (an
//   empty one would match a client whose fingerprint could not be computed);
// - a refusal names the path and a line that exists: "PATH:N: …" with 1 <= N <= lines;
// - comment and blank lines change nothing: the input with "\n# …\n\n" appended loads the
//   same number of keys, or fails at the same line;
// - loading is deterministic: the same file twice gives the same answer.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ssh/ssh.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tg::ssh::AuthorizedKeys;

struct Outcome {
  bool ok = false;
  std::size_t keys = 0;
  std::string error;
};

int memory_file() {
  static const int fd = [] {
    const int created = memfd_create("authorized_keys", MFD_CLOEXEC);
    if (created < 0) std::abort();
    return created;
  }();
  return fd;
}

const std::string& memory_path() {
  static const std::string path = "/proc/self/fd/" + std::to_string(memory_file());
  return path;
}

Outcome load(std::string_view text) {
  const int fd = memory_file();
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  for (std::size_t at = 0; at < text.size();) {
    const ssize_t wrote = pwrite(fd, text.data() + at, text.size() - at, static_cast<off_t>(at));
    FUZZ_CHECK(wrote > 0);
    at += static_cast<std::size_t>(wrote);
  }
  tg::Result<AuthorizedKeys> keys = AuthorizedKeys::load(memory_path());
  Outcome outcome;
  if (!keys.ok()) {
    outcome.error = keys.error().message;
    return outcome;
  }
  outcome.ok = true;
  outcome.keys = keys->size();
  FUZZ_CHECK(!keys->contains_fingerprint(""));
  return outcome;
}

// Lines as std::getline sees them: a last line without '\n' counts.
std::size_t count_lines(std::string_view text) {
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

// The N of "PATH:N: …"; 0 when the message does not have that form.
std::size_t error_line(const std::string& message) {
  const std::string& path = memory_path();
  if (message.compare(0, path.size(), path) != 0 || message.size() <= path.size() + 1 ||
      message[path.size()] != ':') {
    return 0;
  }
  std::size_t line = 0;
  std::size_t at = path.size() + 1;
  for (; at < message.size() && message[at] >= '0' && message[at] <= '9'; ++at) {
    line = line * 10 + static_cast<std::size_t>(message[at] - '0');
    if (line > (std::size_t{1} << 32)) return 0;
  }
  return at < message.size() && message[at] == ':' ? line : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tg::fuzz::as_text(data, size);
  const std::size_t lines = count_lines(text);
  const Outcome first = load(text);
  if (first.ok) {
    FUZZ_CHECK(first.keys <= lines);
  } else {
    const std::size_t line = error_line(first.error);
    FUZZ_CHECK(line >= 1 && line <= lines);
  }

  const Outcome again = load(text);
  FUZZ_CHECK(again.ok == first.ok && again.keys == first.keys && again.error == first.error);

  // A final line without '\n' is still a line: end it before appending.
  std::string commented(text);
  if (!commented.empty() && commented.back() != '\n') commented += '\n';
  commented += "# a comment\n\n   \n";
  const Outcome with_comments = load(commented);
  FUZZ_CHECK(with_comments.ok == first.ok && with_comments.keys == first.keys);
  if (!first.ok) FUZZ_CHECK(error_line(with_comments.error) == error_line(first.error));
  return 0;
}
