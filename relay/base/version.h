/// The relay's version string, printed at start-up and by `--version`.
#pragma once

namespace tg {
const char* version();
}  // namespace tg
