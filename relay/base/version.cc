#include "relay/base/version.h"

namespace tg {
const char* version() {
  return "0.1.0";
}
}  // namespace tg
