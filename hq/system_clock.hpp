// segue-hq's clock is core's (core/system_clock.hpp); this name stays for hq/cli.cpp until it moves
// to the shared argument parser (other branches are adding verbs to it now).
#pragma once
#include "core/system_clock.hpp"

namespace segue::hq {
using core::SystemClock;
} // namespace segue::hq
