// Keyboard and keypad input: what a key means on each screen.
#pragma once
#include "core/flow.hpp"
#include "platform/input.hpp"

namespace segue::app {

/// Digits 1–5 answer (stars on the attract screen, tags on reasons, PIN digits on the pad),
/// Enter submits or continues, Escape goes back, L toggles the language, F10 opens the PIN pad.
/// Keys pressed during the confirmation moment are queued by the flow, so they carry
/// InputSource::Key.
core::Intent intentForKey(const platform::KeyPress& key, core::Screen screen);

} // namespace segue::app
