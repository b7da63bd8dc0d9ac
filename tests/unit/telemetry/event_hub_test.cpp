// The live event hub behind admin GET /events: nothing kept without a
// reader, every line to every reader, a slow reader told what it lost.
#include "weft/telemetry/event_hub.h"

#include <poll.h>

#include <doctest/doctest.h>

using weft::telemetry::EventHub;

namespace {
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}
}  // namespace

TEST_CASE("event hub: inactive without readers and lines go to each reader") {
  EventHub hub;
  CHECK_FALSE(hub.active());
  hub.publish("{\"a\":1}\n");  // nobody: dropped, not kept for later readers
  auto first = hub.subscribe();
  auto second = hub.subscribe();
  CHECK(hub.active());
  CHECK(hub.readers() == 2);
  CHECK_FALSE(readable(first->fd()));
  hub.publish("{\"b\":2}\n");
  CHECK(readable(first->fd()));
  CHECK(first->take() == "{\"b\":2}\n");
  CHECK_FALSE(readable(first->fd()));
  CHECK(second->take() == "{\"b\":2}\n");
  CHECK(first->take().empty());
  first.reset();
  CHECK(hub.active());
  second.reset();
  CHECK_FALSE(hub.active());
}

TEST_CASE("event hub: a reader that falls behind loses whole lines and is told how many") {
  EventHub hub;
  auto reader = hub.subscribe(20);
  hub.publish("{\"n\":1}\n{\"n\":2}\n");  // 16 bytes: kept
  hub.publish("{\"n\":3}\n");             // would pass 20: lost
  hub.publish("{\"n\":4}\n{\"n\":5}\n");  // lost too
  CHECK(reader->lostTotal() == 3);
  CHECK(reader->take() == "{\"kind\":\"lost\",\"count\":3}\n{\"n\":1}\n{\"n\":2}\n");
  hub.publish("{\"n\":6}\n");
  CHECK(reader->take() == "{\"n\":6}\n");  // the loss is told once
}
