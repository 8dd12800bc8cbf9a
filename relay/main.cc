#include <cstdio>

#include "relay/base/version.h"

int main() {
  std::printf("tunnelgate %s\n", tg::version());
  return 0;
}
