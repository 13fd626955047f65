#include "platform/fonts.hpp"

#include <cstdio>

namespace segue::platform {
namespace {

// Symbols drawn as text besides the strings: separators, units and arrows of the staff screen.
constexpr const char* kExtraSymbols = "·–—…%°×±←→↑↓‹›";

} // namespace

unsigned nextCodepoint(std::string_view s, std::size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int extra = 0;
    unsigned cp = 0;
    if (b0 < 0x80) { ++i; return b0; }
    if ((b0 & 0xE0) == 0xC0) { extra = 1; cp = b0 & 0x1F; }
    else if ((b0 & 0xF0) == 0xE0) { extra = 2; cp = b0 & 0x0F; }
    else if ((b0 & 0xF8) == 0xF0) { extra = 3; cp = b0 & 0x07; }
    else { ++i; return 0xFFFD; }
    for (int k = 1; k <= extra; ++k) {
        if (i + static_cast<std::size_t>(k) >= s.size()) { ++i; return 0xFFFD; }
        const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((b & 0xC0) != 0x80) { ++i; return 0xFFFD; }
        cp = (cp << 6) | (b & 0x3F);
    }
    i += static_cast<std::size_t>(extra) + 1;
    return cp;
}

namespace {

/// Reads the whole file into memory from ImGui's allocator, so the atlas can own and free it.
void* readFile(const std::filesystem::path& file, std::size_t& size, std::string& error) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr) { error = "cannot open font " + file.string(); return nullptr; }
    void* data = nullptr;
    if (std::fseek(f, 0, SEEK_END) == 0) {
        const long len = std::ftell(f);
        if (len > 0 && std::fseek(f, 0, SEEK_SET) == 0) {
            data = ImGui::MemAlloc(static_cast<std::size_t>(len));
            size = std::fread(data, 1, static_cast<std::size_t>(len), f);
            if (size != static_cast<std::size_t>(len)) {
                ImGui::MemFree(data);
                data = nullptr;
            }
        }
    }
    std::fclose(f);
    if (data == nullptr) error = "cannot read font " + file.string();
    return data;
}

} // namespace

std::vector<ImWchar> glyphRangesFor(const std::vector<std::string_view>& texts) {
    ImFontGlyphRangesBuilder builder;
    static const ImWchar kAscii[] = {0x0020, 0x007E, 0};
    builder.AddRanges(kAscii);
    builder.AddText(kExtraSymbols);
    for (const auto t : texts)
        if (!t.empty()) builder.AddText(t.data(), t.data() + t.size());
    ImVector<ImWchar> built;
    builder.BuildRanges(&built);
    return std::vector<ImWchar>(built.begin(), built.end());
}

std::expected<Fonts, std::string> buildFonts(ImFontAtlas& atlas, const FontRequest& request) {
    std::size_t size = 0;
    std::string error;
    void* data = readFile(request.file, size, error);
    if (data == nullptr) return std::unexpected(error);

    const std::vector<ImWchar> ranges = glyphRangesFor(request.texts);
    std::vector<std::string_view> digitsOnly;   // the huge face shows figures only
    const std::vector<ImWchar> figureRanges = glyphRangesFor(digitsOnly);

    atlas.Clear();
    atlas.Flags |= ImFontAtlasFlags_NoPowerOfTwoHeight;
    // ImGui copies font data it does not own (19 MB per size). Every face shares one buffer
    // instead: the first config owns it, the others are marked as borrowing it afterwards.
    bool owned = false;
    auto add = [&](float px, const std::vector<ImWchar>& r) {
        ImFontConfig cfg;
        cfg.FontNo = request.fontNo;
        cfg.FontDataOwnedByAtlas = true;
        cfg.OversampleH = 1;                // large sizes need no subpixel oversampling
        cfg.OversampleV = 1;
        cfg.PixelSnapH = true;
        ImFont* font = atlas.AddFontFromMemoryTTF(data, static_cast<int>(size), px, &cfg, r.data());
        if (font != nullptr) {
            atlas.ConfigData.back().FontDataOwnedByAtlas = !owned;
            owned = true;
        }
        return font;
    };
    Fonts fonts;
    fonts.sizes = request.sizes;
    fonts.caption = add(request.sizes.caption, ranges);
    fonts.body = add(request.sizes.body, ranges);
    fonts.title = add(request.sizes.title, ranges);
    fonts.huge = add(request.sizes.huge, figureRanges);
    if (!owned) ImGui::MemFree(data);
    if (!fonts.caption || !fonts.body || !fonts.title || !fonts.huge) {
        atlas.Clear();   // frees the shared buffer and forgets `ranges`, which dies here
        return std::unexpected("cannot load font face " + std::to_string(request.fontNo) + " of " +
                               request.file.string());
    }
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    atlas.GetTexDataAsRGBA32(&pixels, &w, &h);
    if (pixels == nullptr || !atlas.IsBuilt()) {
        atlas.Clear();
        return std::unexpected("cannot build the font atlas from " + request.file.string());
    }
    // The glyphs are rasterized: drop the file copy and the per-font configs that point at it
    // and at `ranges` (both die with this scope).
    atlas.ClearInputData();
    return fonts;
}

std::vector<unsigned> missingGlyphs(const ImFont& font, std::string_view text) {
    std::vector<unsigned> missing;
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned cp = nextCodepoint(text, i);
        if (cp == '\n' || cp == '\r' || cp == '\t') continue;
        if (cp > 0xFFFF || font.FindGlyphNoFallback(static_cast<ImWchar>(cp)) == nullptr)
            missing.push_back(cp);
    }
    return missing;
}

} // namespace segue::platform
