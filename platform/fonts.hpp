// Fonts for the kiosk: Noto Sans CJK SC at a few sizes, the atlas built only from the
// codepoints the translation strings use (a full CJK range would cost ~1 s and ~150 MB).
#pragma once
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <imgui.h>

namespace segue::platform {

inline constexpr const char* kDefaultFontFile = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
inline constexpr int kDefaultFontNo = 2;   ///< Simplified Chinese face inside the collection

/// Pixel sizes of the four faces the screens use.
struct FontSizes {
    float caption = 20.f;
    float body = 28.f;
    float title = 50.f;
    float huge = 72.f;
};

struct Fonts {
    ImFont* caption = nullptr;
    ImFont* body = nullptr;
    ImFont* title = nullptr;
    ImFont* huge = nullptr;     ///< digits, ASCII and the extra symbols only (KPI figures)
    FontSizes sizes;
};

struct FontRequest {
    std::filesystem::path file = kDefaultFontFile;
    int fontNo = kDefaultFontNo;
    FontSizes sizes;
    std::vector<std::string_view> texts;   ///< every string the screens may draw
};

/// Zero-terminated ImGui glyph ranges: printable ASCII, a few symbols the screens use, and
/// every codepoint in `texts`.
std::vector<ImWchar> glyphRangesFor(const std::vector<std::string_view>& texts);

/// Clears `atlas`, adds the four faces, and rasterizes the atlas (RGBA32) so the GL backend
/// only has to upload it. The font file is read once and released before returning.
std::expected<Fonts, std::string> buildFonts(ImFontAtlas& atlas, const FontRequest& request);

/// Decodes the UTF-8 codepoint at `pos` and advances `pos`; a malformed byte yields U+FFFD.
unsigned nextCodepoint(std::string_view text, std::size_t& pos);

/// Codepoints in `text` that `font` has no glyph for (they would render as '?').
std::vector<unsigned> missingGlyphs(const ImFont& font, std::string_view text);

} // namespace segue::platform
