// Keys the kiosk reacts to, as the platform reports them (no SDL types leak out of platform/).
#pragma once

namespace segue::platform {

enum class KeyKind { Digit, Enter, Escape, Backspace, LetterL, F10 };

/// One key press; `digit` is 0..9 for KeyKind::Digit.
struct KeyPress {
    KeyKind kind = KeyKind::Enter;
    int digit = 0;
    bool operator==(const KeyPress&) const = default;
};

} // namespace segue::platform
