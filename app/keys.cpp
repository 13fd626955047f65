#include "app/keys.hpp"

namespace segue::app {

core::Intent intentForKey(const platform::KeyPress& key, core::Screen screen) {
    using core::Intent;
    using Kind = Intent::Kind;
    using platform::KeyKind;
    const bool pad = screen == core::Screen::PinPad;
    const bool number = screen == core::Screen::CallbackNumber;   // BackSpace deletes a digit there
    switch (key.kind) {
    case KeyKind::Digit:
        // The flow decides what a digit means on the screen it lands on (it may be queued).
        return Intent::key(pad ? Kind::PinDigit : Kind::Digit, key.digit);
    case KeyKind::Enter: return Intent::key(Kind::Submit);
    case KeyKind::Escape: return Intent::key(screen == core::Screen::Staff ? Kind::ExitStaff : Kind::Back);
    case KeyKind::Backspace: return Intent::key(pad || number ? Kind::PinDelete : Kind::Back);
    case KeyKind::LetterL: return Intent::key(Kind::ToggleLanguage);
    case KeyKind::F10: return Intent::key(Kind::OpenStaff);
    }
    return {};
}

} // namespace segue::app
