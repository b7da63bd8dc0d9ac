// "Nothing is lost": when a reload rejects an object that the previous
// snapshot had, the previous version stays in force. Dropping it instead
// would let a typo in a DENY policy open access, or a broken edit of a Pod
// unenroll it. A file that no longer parses keeps all of its last good objects.
#pragma once

#include "weft/config/snapshot.h"

namespace weft::config {

// Returns `next` with the last good version of each rejected object (and of
// every object from a file with an unreadable document) carried over from
// `previous`; each such rejection says which version is still served.
[[nodiscard]] Snapshot keepLastGood(Snapshot next, const Snapshot& previous);

}  // namespace weft::config
