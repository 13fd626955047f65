#include "app/ui.hpp"

#include <algorithm>
#include <cmath>

namespace segue::app {
namespace {

constexpr float kLineSpacing = 1.22f;

bool isCjk(unsigned c) {
    return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF00 && c <= 0xFFEF) ||
           (c >= 0x3000 && c <= 0x303F);
}

bool noBreakBefore(unsigned c) {
    switch (c) {
    case ',': case '.': case '!': case '?': case ';': case ':': case ')': case ']': case '}': case '%':
    case 0x3001: case 0x3002: case 0xFF0C: case 0xFF01: case 0xFF1F: case 0xFF1B: case 0xFF1A:
    case 0xFF09: case 0x300D: case 0x300F: case 0x300B: case 0x3009: case 0x2026: case 0x00B7:
        return true;
    default:
        return false;
    }
}

bool noBreakAfter(unsigned c) {
    switch (c) {
    case '(': case '[': case '{': case 0xFF08: case 0x300C: case 0x300E: case 0x300A: case 0x3008:
        return true;
    default:
        return false;
    }
}

std::string_view trimRight(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

} // namespace

float textWidth(const ImFont& font, float size, std::string_view text) {
    if (text.empty()) return 0.f;
    return font.CalcTextSizeA(size, FLT_MAX, 0.f, text.data(), text.data() + text.size()).x;
}

std::vector<TextLine> wrapText(const ImFont& font, float size, std::string_view text, float maxWidth) {
    std::vector<TextLine> lines;
    auto emit = [&](std::size_t from, std::size_t to) {
        const std::string_view s = trimRight(text.substr(from, to - from));
        lines.push_back({s, textWidth(font, size, s)});
    };
    std::size_t lineStart = 0, lastBreak = std::string_view::npos, pos = 0;
    unsigned prev = 0;
    while (pos < text.size()) {
        const std::size_t at = pos;
        const unsigned c = platform::nextCodepoint(text, pos);
        if (c == '\n') {
            emit(lineStart, at);
            lineStart = pos;
            lastBreak = std::string_view::npos;
            prev = 0;
            continue;
        }
        if (at > lineStart) {
            const bool afterSpace = prev == ' ';
            const bool cjkPair = (isCjk(prev) || isCjk(c)) && !noBreakBefore(c) && !noBreakAfter(prev);
            if ((afterSpace && c != ' ') || cjkPair) lastBreak = at;
        }
        prev = c;
        if (c == ' ' || at == lineStart) continue;
        if (textWidth(font, size, trimRight(text.substr(lineStart, pos - lineStart))) <= maxWidth) continue;
        // Too wide: break at the last opportunity, or force a break before this character.
        const std::size_t cut = (lastBreak != std::string_view::npos && lastBreak > lineStart) ? lastBreak : at;
        emit(lineStart, cut);
        lineStart = cut;
        while (lineStart < text.size() && text[lineStart] == ' ') ++lineStart;
        lastBreak = std::string_view::npos;
    }
    if (lineStart < text.size() || lines.empty()) emit(lineStart, text.size());
    return lines;
}

Box drawText(Ui& ui, const Box& box, std::string_view text, const TextStyle& style) {
    const ImFont& font = *style.font;
    std::vector<TextLine> lines;
    float size = style.size;
    bool fits = false;
    for (float scale = 1.f; scale >= style.minScale - 1e-4f; scale -= 0.05f) {
        size = std::floor(style.size * scale);
        lines = wrapText(font, size, text, box.w);
        const float height = size + static_cast<float>(lines.size() - 1) * size * kLineSpacing;
        const bool widthOk = std::all_of(lines.begin(), lines.end(),
                                         [&](const TextLine& l) { return l.width <= box.w + 0.5f; });
        if (static_cast<int>(lines.size()) <= style.maxLines && height <= box.h + 0.5f && widthOk) {
            fits = true;
            break;
        }
    }
    std::string cutLine;   // owns the shortened last line when ellipsis applies
    if (!fits && style.ellipsis) {
        const int room = std::max(1, static_cast<int>((box.h - size) / (size * kLineSpacing)) + 1);
        const auto keep = static_cast<std::size_t>(std::min(style.maxLines, room));
        if (lines.size() > keep || lines.back().width > box.w) {
            lines.resize(std::min(lines.size(), keep));
            std::string_view last = lines.back().text;
            const char* kDots = "\u2026";
            const float dotsW = textWidth(font, size, kDots);
            // Drop whole codepoints from the end until the line and the dots fit.
            while (!last.empty() && textWidth(font, size, last) + dotsW > box.w) {
                while (!last.empty()) {
                    const auto b = static_cast<unsigned char>(last.back());
                    last.remove_suffix(1);
                    if ((b & 0xC0) != 0x80) break;
                }
            }
            cutLine = std::string(trimRight(last)) + kDots;
            lines.back() = {cutLine, textWidth(font, size, cutLine)};
        }
        fits = true;
    }
    if (!fits && ui.log != nullptr) ui.log->overflows.push_back({std::string(text), box});
    if (ui.log != nullptr) ui.log->texts.emplace_back(text);
    const float height = size + static_cast<float>(lines.size() - 1) * size * kLineSpacing;
    float y = style.vcenter ? box.y + (box.h - height) * 0.5f : box.y;
    Box used{box.right(), y, 0, height};
    for (const auto& line : lines) {
        float x = box.x;
        if (style.align == Align::Center) x = box.x + (box.w - line.width) * 0.5f;
        else if (style.align == Align::Right) x = box.right() - line.width;
        x = std::round(x);
        if (ui.dl != nullptr && !line.text.empty())
            ui.dl->AddText(style.font, size, ImVec2(x, std::round(y)), style.color, line.text.data(),
                           line.text.data() + line.text.size());
        used.x = std::min(used.x, x);
        used.w = std::max(used.w, x + line.width - used.x);
        y += size * kLineSpacing;
    }
    return used;
}

Press hitArea(Ui& ui, const char* id, const Box& box) {
    Press p;
    if (box.w < 1.f || box.h < 1.f) return p;
    ImGui::SetCursorScreenPos(box.min());
    p.clicked = ImGui::InvisibleButton(id, ImVec2(box.w, box.h));
    p.held = ImGui::IsItemActive();
    if (ui.log != nullptr) ui.log->targets.push_back({id, box});
    return p;
}

float buttonWidth(const Ui& ui, std::string_view label) {
    return std::max(ui.m.target * 1.5f, textWidth(*ui.fonts.body, ui.m.fonts.body, label) + ui.m.target * 0.7f);
}

bool button(Ui& ui, const char* id, const Box& box, std::string_view label, ButtonKind kind, bool enabled,
            float rounding) {
    const Press p = hitArea(ui, id, box);
    const Theme& t = ui.theme;
    ImU32 fill = 0, ink = t.text;
    switch (kind) {
    case ButtonKind::Primary:
        fill = p.held ? t.primaryPressed : t.primary;
        ink = t.onPrimary;
        break;
    case ButtonKind::Secondary:
        fill = p.held ? t.surfacePressed : t.surface;
        break;
    case ButtonKind::Ghost:
        fill = p.held ? t.surface : 0;
        ink = t.textMuted;
        break;
    }
    if (!enabled) {
        fill = withAlpha(fill, 0.45f);
        ink = withAlpha(ink, 0.5f);
    }
    if (ui.dl != nullptr && fill != 0)
        ui.dl->AddRectFilled(box.min(), box.max(), fill, rounding < 0 ? ui.m.radius : rounding);
    drawText(ui, box.inset(ui.m.gap, 4.f), label,
             {ui.fonts.body, ui.m.fonts.body, ink, Align::Center, 1, 0.6f, true});
    return enabled && p.clicked;
}

void drawStar(ImDrawList* dl, ImVec2 c, float r, ImU32 color, bool filled, float thickness) {
    if (dl == nullptr) return;
    ImVec2 pts[10];
    const float inner = r * 0.45f;
    for (int i = 0; i < 10; ++i) {
        const float a = -kPi / 2.f + static_cast<float>(i) * kPi / 5.f;
        const float rr = (i % 2 == 0) ? r : inner;
        pts[i] = ImVec2(c.x + std::cos(a) * rr, c.y + std::sin(a) * rr);
    }
    if (filled) {
        // A star is concave: fill the centre pentagon and the five tips as convex pieces,
        // without edge anti-aliasing (it would show the seams), then smooth the outline.
        const ImDrawListFlags saved = dl->Flags;
        dl->Flags &= ~ImDrawListFlags_AntiAliasedFill;
        ImVec2 pent[5];
        for (int i = 0; i < 5; ++i) pent[i] = pts[i * 2 + 1];
        dl->AddConvexPolyFilled(pent, 5, color);
        for (int i = 0; i < 5; ++i) dl->AddTriangleFilled(pts[i * 2], pts[(i * 2 + 1) % 10], pts[(i * 2 + 9) % 10], color);
        dl->Flags = saved;
        dl->AddPolyline(pts, 10, color, ImDrawFlags_Closed, 1.5f);
    } else {
        dl->AddPolyline(pts, 10, color, ImDrawFlags_Closed, thickness);
    }
}

void drawCheck(ImDrawList* dl, ImVec2 c, float size, ImU32 color, float thickness) {
    if (dl == nullptr) return;
    const ImVec2 pts[3] = {ImVec2(c.x - size * 0.42f, c.y + size * 0.02f), ImVec2(c.x - size * 0.12f, c.y + size * 0.32f),
                           ImVec2(c.x + size * 0.45f, c.y - size * 0.30f)};
    dl->AddPolyline(pts, 3, color, ImDrawFlags_None, thickness);
    // Round the joints so the thick stroke does not look cut.
    for (const auto& p : pts) dl->AddCircleFilled(p, thickness * 0.5f, color, 12);
}

void drawFace(ImDrawList* dl, ImVec2 c, float r, int mood, ImU32 ink, float thickness) {
    if (dl == nullptr) return;
    const float eyeY = c.y - r * 0.22f, eyeDx = r * 0.32f, eyeR = std::max(2.f, r * 0.09f);
    dl->AddCircleFilled(ImVec2(c.x - eyeDx, eyeY), eyeR, ink, 16);
    dl->AddCircleFilled(ImVec2(c.x + eyeDx, eyeY), eyeR, ink, 16);
    // Mouth: a parabola whose curvature runs from a frown (1) to a wide smile (5).
    const float curve = (static_cast<float>(mood) - 3.f) * 0.5f;   // -1 .. 1
    const float mouthY = c.y + r * 0.35f, halfW = r * 0.42f;
    ImVec2 pts[17];
    for (int i = 0; i <= 16; ++i) {
        const float t = static_cast<float>(i) / 16.f * 2.f - 1.f;   // -1 .. 1
        pts[i] = ImVec2(c.x + t * halfW, mouthY - curve * r * 0.22f * (t * t) + curve * r * 0.11f);
    }
    dl->AddPolyline(pts, 17, ink, ImDrawFlags_None, thickness);
    dl->AddCircleFilled(pts[0], thickness * 0.5f, ink, 8);
    dl->AddCircleFilled(pts[16], thickness * 0.5f, ink, 8);
}

void drawChevron(ImDrawList* dl, ImVec2 c, float size, bool left, ImU32 color, float thickness) {
    if (dl == nullptr) return;
    const float dx = (left ? 1.f : -1.f) * size * 0.25f;
    const ImVec2 pts[3] = {ImVec2(c.x + dx, c.y - size * 0.45f), ImVec2(c.x - dx, c.y), ImVec2(c.x + dx, c.y + size * 0.45f)};
    dl->AddPolyline(pts, 3, color, ImDrawFlags_None, thickness);
}

ImU32 withAlpha(ImU32 c, float alpha) {
    const auto a = static_cast<unsigned>(static_cast<float>((c >> IM_COL32_A_SHIFT) & 0xFF) * std::clamp(alpha, 0.f, 1.f));
    return (c & ~IM_COL32_A_MASK) | (a << IM_COL32_A_SHIFT);
}

ImU32 darker(ImU32 c, float amount) {
    const float k = 1.f - std::clamp(amount, 0.f, 1.f);
    auto ch = [&](int shift) { return static_cast<unsigned>(static_cast<float>((c >> shift) & 0xFF) * k); };
    return IM_COL32(ch(IM_COL32_R_SHIFT), ch(IM_COL32_G_SHIFT), ch(IM_COL32_B_SHIFT), (c >> IM_COL32_A_SHIFT) & 0xFF);
}

} // namespace segue::app
