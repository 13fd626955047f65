// The staff screen: the day's scores at a glance. Denser than the customer screens, but every
// chart is drawn with ImDrawList and stays legible at 800×480.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "app/screens.hpp"
#include "app/string_keys.hpp"
#include "core/scoring.hpp"

namespace segue::app {
namespace {

using core::Intent;

std::string fixed1(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

std::string percent(double fraction) {
    return std::to_string(static_cast<int>(std::lround(fraction * 100.0))) + "%";
}

constexpr const char* kDash = "\u2014";

/// A card: surface, a caption title at the top left; returns the box below the title.
Box card(Ui& ui, const Box& b, std::string_view title, float titleRightReserve = 0) {
    const Metrics& m = ui.m;
    if (ui.dl != nullptr) ui.dl->AddRectFilled(b.min(), b.max(), ui.theme.surface, m.radius);
    const float pad = std::round(m.gap * 0.9f);
    const float titleH = m.fonts.caption * 1.35f;
    drawText(ui, {b.x + pad, b.y + pad * 0.6f, b.w - 2 * pad - titleRightReserve, titleH}, title,
             {ui.fonts.caption, m.fonts.caption, ui.theme.textMuted, Align::Left, 1});
    return {b.x + pad, b.y + pad * 0.6f + titleH + pad * 0.3f, b.w - 2 * pad, b.h - titleH - pad * 1.9f};
}

TextStyle caption(const Ui& ui, ImU32 ink, Align a = Align::Left) {
    return {ui.fonts.caption, ui.m.fonts.caption, ink, a, 1};
}

void drawValue(Ui& ui, const Box& b, const std::string& text, ImU32 ink, Align a = Align::Left) {
    drawText(ui, b, text, {ui.fonts.huge, std::min(ui.m.fonts.huge, b.h), ink, a, 1, 0.4f});
}

void kpiResponses(Ui& ui, const Box& b, const StaffVM& vm) {
    const Box c = card(ui, b, ui.tr(keys::kStaffResponses));
    drawValue(ui, c, vm.stats ? std::to_string(vm.stats->responses) : kDash, ui.theme.text);
}

void kpiStars(Ui& ui, const Box& b, const StaffVM& vm) {
    const Box c = card(ui, b, ui.tr(keys::kStaffMeanStars));
    const bool has = vm.stats && vm.stats->meanStars;
    const std::string value = has ? fixed1(*vm.stats->meanStars) : kDash;
    const float starR = std::min(c.h * 0.32f, ui.m.fonts.huge * 0.3f);
    const Box text{c.x, c.y, c.w - starR * 2.6f, c.h};
    drawValue(ui, text, value, ui.theme.text);
    const float tw = textWidth(*ui.fonts.huge, std::min(ui.m.fonts.huge, c.h), value);
    const ImVec2 sc(std::min(c.x + tw + starR * 1.5f, c.right() - starR), c.center().y);
    drawStar(ui.dl, sc, starR, has ? ui.theme.gold : ui.theme.textMuted, true, 0);
}

void kpiCsat(Ui& ui, const Box& b, const StaffVM& vm) {
    const Theme& t = ui.theme;
    const Box c = card(ui, b, ui.tr(keys::kStaffCsat));
    const bool has = vm.stats && vm.stats->csat;
    const bool met = vm.stats && core::meetsTarget(*vm.stats, vm.targetCsat);
    const Box valueBox{c.x, c.y, c.w * 0.45f, c.h};
    drawValue(ui, valueBox, has ? percent(*vm.stats->csat) : kDash, has ? (met ? t.text : t.warningInk) : t.textMuted);
    // The bar with the target marker.
    const Box barArea{c.x + c.w * 0.5f, c.y, c.w * 0.5f, c.h};
    const float barH = std::max(8.f, std::min(barArea.h * 0.22f, ui.m.fonts.caption * 0.7f));
    const float labelH = ui.m.fonts.caption * 1.3f;
    // The bar, then the target's name under it, clear of the marker.
    const float by = barArea.y + (barArea.h - barH - barH * 0.8f - labelH) * 0.5f;
    const Box track{barArea.x, by, barArea.w, barH};
    const std::string target = formatText(ui.tr(keys::kStaffTarget), {{"target", percent(vm.targetCsat)}});
    drawText(ui, {barArea.x, track.bottom() + barH * 0.8f, barArea.w, labelH}, target, caption(ui, t.textMuted, Align::Right));
    if (ui.dl == nullptr) return;
    ui.dl->AddRectFilled(track.min(), track.max(), t.divider, barH * 0.5f);
    if (has) {
        const float w = track.w * static_cast<float>(std::clamp(*vm.stats->csat, 0.0, 1.0));
        if (w > 1.f)
            ui.dl->AddRectFilled(track.min(), ImVec2(track.x + w, track.bottom()), met ? t.success : t.warning, barH * 0.5f);
    }
    const float mx = track.x + track.w * static_cast<float>(std::clamp(vm.targetCsat, 0.0, 1.0));
    ui.dl->AddLine(ImVec2(mx, track.y - barH * 0.5f), ImVec2(mx, track.bottom() + barH * 0.5f), t.text, 3.f);
}

void kpiNotScored(Ui& ui, const Box& b, const StaffVM& vm) {
    const Theme& t = ui.theme;
    const std::int64_t pending = vm.stats ? vm.stats->pendingSync : 0;
    const Box c = card(ui, b, formatText(ui.tr(keys::kStaffPending), {{"count", std::to_string(pending)}}));
    const std::string line = formatText(ui.tr(keys::kStaffNotScored),
                                        {{"partial", vm.stats ? std::to_string(vm.stats->partial) : kDash},
                                         {"misuse", vm.stats ? std::to_string(vm.stats->misuse) : kDash}});
    drawText(ui, c, line, {ui.fonts.caption, ui.m.fonts.caption, t.text, Align::Left, 3, 0.7f});
}

void segueCard(Ui& ui, const Box& b, const StaffVM& vm) {
    const Theme& t = ui.theme;
    const Metrics& m = ui.m;
    const Box c = card(ui, b, ui.tr(keys::kStaffSegue));
    const int n = std::max<int>(1, static_cast<int>(vm.segueItems.size()));
    const float rowH = c.h / static_cast<float>(n);
    const float labelW = std::min(c.w * 0.34f, m.fonts.caption * 9.f);
    const float valueW = m.fonts.caption * 2.4f;
    for (int i = 0; i < static_cast<int>(vm.segueItems.size()); ++i) {
        const int item = vm.segueItems[static_cast<std::size_t>(i)];
        const float y = c.y + static_cast<float>(i) * rowH;
        drawText(ui, {c.x, y, labelW, rowH}, ui.tr(keys::itemName(item)), caption(ui, t.text));
        const std::optional<double> mean = vm.stats ? vm.stats->segue[static_cast<std::size_t>(item)] : std::nullopt;
        drawText(ui, {c.right() - valueW, y, valueW, rowH}, mean ? fixed1(*mean) : kDash, caption(ui, t.text, Align::Right));
        const float barH = std::max(6.f, std::min(rowH * 0.42f, m.fonts.caption * 0.7f));
        const Box track{c.x + labelW + m.gap * 0.5f, y + (rowH - barH) * 0.5f, c.w - labelW - valueW - m.gap, barH};
        if (ui.dl == nullptr || track.w <= 0) continue;
        ui.dl->AddRectFilled(track.min(), track.max(), t.divider, barH * 0.5f);
        if (mean) {
            const int tint = std::clamp(static_cast<int>(std::lround(*mean)), 1, 5) - 1;
            const float w = track.w * static_cast<float>(std::clamp(*mean / 5.0, 0.0, 1.0));
            ui.dl->AddRectFilled(track.min(), ImVec2(track.x + w, track.bottom()), t.scale[static_cast<std::size_t>(tint)], barH * 0.5f);
        }
    }
}

void hoursCard(Ui& ui, const Box& b, const StaffVM& vm) {
    const Theme& t = ui.theme;
    const Metrics& m = ui.m;
    const Box c = card(ui, b, ui.tr(keys::kStaffByHour));
    const float axisH = m.fonts.caption * 1.3f;
    const Box plot{c.x, c.y + m.fonts.caption * 1.2f, c.w, c.h - axisH - m.fonts.caption * 1.2f};
    std::int64_t peak = 0;
    int peakHour = -1;
    if (vm.stats)
        for (int h = 0; h < 24; ++h)
            if (vm.stats->byHour[static_cast<std::size_t>(h)] > peak) { peak = vm.stats->byHour[static_cast<std::size_t>(h)]; peakHour = h; }
    const float slot = plot.w / 24.f;
    for (int h = 0; h < 24 && ui.dl != nullptr; ++h) {
        const std::int64_t v = vm.stats ? vm.stats->byHour[static_cast<std::size_t>(h)] : 0;
        const float x = plot.x + static_cast<float>(h) * slot;
        const float hh = peak > 0 ? plot.h * static_cast<float>(v) / static_cast<float>(peak) : 0.f;
        const float bh = std::max(2.f, hh);
        ui.dl->AddRectFilled(ImVec2(x + slot * 0.15f, plot.bottom() - bh), ImVec2(x + slot * 0.85f, plot.bottom()),
                             v > 0 ? t.primary : t.divider, std::min(3.f, slot * 0.2f), ImDrawFlags_RoundCornersTop);
    }
    if (peakHour >= 0) {
        const float x = plot.x + (static_cast<float>(peakHour) + 0.5f) * slot;
        const float w = m.fonts.caption * 3.f;
        drawText(ui, {std::clamp(x - w * 0.5f, c.x, c.right() - w), plot.y - m.fonts.caption * 1.2f, w, m.fonts.caption * 1.2f},
                 std::to_string(peak), caption(ui, t.text, Align::Center));
    }
    for (int h = 0; h <= 18; h += 6) {
        const float x = plot.x + static_cast<float>(h) * slot;
        drawText(ui, {x, plot.bottom() + 2.f, slot * 4.f, axisH}, std::to_string(h) + ":00", caption(ui, t.textMuted));
    }
}

/// Satisfaction of a run of days, weighting each day by its responses.
std::optional<double> pooledCsat(const std::vector<core::DayStats>& days, std::size_t from, std::size_t to) {
    double satisfied = 0, counted = 0;
    for (std::size_t i = from; i < to && i < days.size(); ++i) {
        if (!days[i].csat || days[i].responses == 0) continue;
        satisfied += *days[i].csat * static_cast<double>(days[i].responses);
        counted += static_cast<double>(days[i].responses);
    }
    if (counted <= 0) return std::nullopt;
    return satisfied / counted;
}

void trendCard(Ui& ui, const Box& b, const StaffVM& vm) {
    const Theme& t = ui.theme;
    const Metrics& m = ui.m;
    const std::size_t n = vm.trend.size();
    const auto last7 = pooledCsat(vm.trend, n > 7 ? n - 7 : 0, n);
    const auto last30 = pooledCsat(vm.trend, 0, n);
    const std::string figures = std::string(ui.tr(keys::kStaffTrend7)) + " " + (last7 ? percent(*last7) : kDash) + "  \u00b7  " +
                                std::string(ui.tr(keys::kStaffTrend30)) + " " + (last30 ? percent(*last30) : kDash);
    const float figuresW = std::min(b.w * 0.48f, textWidth(*ui.fonts.caption, m.fonts.caption, figures) + m.gap);
    const Box c = card(ui, b, ui.tr(keys::kStaffTrend), figuresW);
    drawText(ui, {c.right() - figuresW, b.y + std::round(m.gap * 0.9f) * 0.6f, figuresW, m.fonts.caption * 1.35f}, figures,
             caption(ui, t.text, Align::Right));

    // The y axis starts at 50% when every point and the target lie above it, so day-to-day
    // movement is visible; otherwise at 0%.
    double lo = vm.targetCsat >= 0.5 ? 0.5 : 0.0;
    for (const auto& d : vm.trend)
        if (d.csat && d.responses > 0 && *d.csat < lo) lo = 0.0;
    const float axisH = m.fonts.caption * 1.3f;
    const float yLabelW = m.fonts.caption * 2.6f;
    const Box plot{c.x + yLabelW, c.y + m.gap * 0.3f, c.w - yLabelW, c.h - axisH - m.gap * 0.3f};
    // Axis row: first date, legend, last date.
    if (n > 0) {
        const float dateW = m.fonts.caption * 3.6f;
        drawText(ui, {plot.x, plot.bottom() + 2.f, dateW, axisH}, vm.trend.front().date.substr(5), caption(ui, t.textMuted));
        drawText(ui, {plot.right() - dateW, plot.bottom() + 2.f, dateW, axisH}, vm.trend.back().date.substr(5),
                 caption(ui, t.textMuted, Align::Right));
        const float legendW = plot.w - 2 * dateW - m.gap;
        const float sw = m.fonts.caption * 1.2f;
        const std::string_view rolling = ui.tr(keys::kStaffTrend7), daily = ui.tr(keys::kStaffTrendDaily);
        const float need = 2 * sw + textWidth(*ui.fonts.caption, m.fonts.caption, rolling) +
                           textWidth(*ui.fonts.caption, m.fonts.caption, daily) + m.gap * 2.f;
        if (legendW > need && ui.dl != nullptr) {
            float x = plot.x + dateW + (legendW - need) * 0.5f + m.gap * 0.5f;
            const float cy = plot.bottom() + 2.f + axisH * 0.5f;
            ui.dl->AddLine(ImVec2(x, cy), ImVec2(x + sw * 0.8f, cy), t.primary, 3.f);
            x += sw;
            const float rw = textWidth(*ui.fonts.caption, m.fonts.caption, rolling);
            drawText(ui, {x, plot.bottom() + 2.f, rw + 1.f, axisH}, rolling, caption(ui, t.textMuted));
            x += rw + m.gap;
            ui.dl->AddCircleFilled(ImVec2(x + sw * 0.35f, cy), 3.f, t.textMuted, 12);
            x += sw * 0.8f;
            drawText(ui, {x, plot.bottom() + 2.f, textWidth(*ui.fonts.caption, m.fonts.caption, daily) + 1.f, axisH}, daily,
                     caption(ui, t.textMuted));
        }
    }
    auto frac = [&](double v) { return static_cast<float>((std::clamp(v, lo, 1.0) - lo) / (1.0 - lo)); };
    for (const double level : {lo, (lo + 1.0) / 2.0, 1.0}) {
        const float y = plot.bottom() - plot.h * frac(level);
        drawText(ui, {c.x, y - m.fonts.caption * 0.65f, yLabelW - m.gap * 0.4f, m.fonts.caption * 1.3f}, percent(level),
                 caption(ui, t.textMuted, Align::Right));
        if (ui.dl != nullptr) ui.dl->AddLine(ImVec2(plot.x, y), ImVec2(plot.right(), y), t.divider, 1.f);
    }
    if (ui.dl == nullptr || n == 0) return;
    // Target: a dashed line.
    const float ty = plot.bottom() - plot.h * frac(vm.targetCsat);
    for (float x = plot.x; x < plot.right(); x += 12.f)
        ui.dl->AddLine(ImVec2(x, ty), ImVec2(std::min(x + 6.f, plot.right()), ty), t.warning, 2.f);
    auto xAt = [&](std::size_t i) {
        return n <= 1 ? plot.center().x : plot.x + plot.w * static_cast<float>(i) / static_cast<float>(n - 1);
    };
    auto yAt = [&](double v) { return plot.bottom() - plot.h * frac(v); };
    if (n >= 7) {
        const float x7 = xAt(n - 7);
        ui.dl->AddRectFilled(ImVec2(x7, plot.y), ImVec2(plot.right(), plot.bottom()), withAlpha(t.primary, 0.10f));
    }
    for (std::size_t i = 0; i < n; ++i)
        if (vm.trend[i].csat && vm.trend[i].responses > 0)
            ui.dl->AddCircleFilled(ImVec2(xAt(i), yAt(*vm.trend[i].csat)), 3.f, t.textMuted, 12);
    // The 7-day rolling satisfaction, broken where a window has no responses.
    std::vector<ImVec2> run;
    auto flush = [&] {
        if (run.size() >= 2) ui.dl->AddPolyline(run.data(), static_cast<int>(run.size()), t.primary, ImDrawFlags_None, 3.f);
        else if (run.size() == 1) ui.dl->AddCircleFilled(run[0], 3.5f, t.primary, 12);
        run.clear();
    };
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = pooledCsat(vm.trend, i >= 6 ? i - 6 : 0, i + 1);
        if (v) run.emplace_back(xAt(i), yAt(*v));
        else flush();
    }
    flush();
}

void tagsCard(Ui& ui, const Box& b, const StaffVM& vm) {
    const Theme& t = ui.theme;
    const Metrics& m = ui.m;
    const Box c = card(ui, b, ui.tr(keys::kStaffTags));
    std::vector<std::pair<std::string, std::int64_t>> rows;
    if (vm.stats)
        for (const auto& [tag, count] : vm.stats->tags)
            if (count > 0) rows.emplace_back(tag, count);
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& z) { return a.second > z.second; });
    if (rows.empty()) {
        drawText(ui, c, ui.tr(keys::kStaffNoData), {ui.fonts.caption, m.fonts.caption, t.textMuted, Align::Center, 2});
        return;
    }
    const float rowH = std::max(m.fonts.caption * 1.25f, c.h / 6.f);
    const int fit = std::max(1, static_cast<int>(c.h / rowH));
    const std::int64_t top = rows.front().second;
    const float labelW = c.w * 0.5f, countW = m.fonts.caption * 2.4f;
    for (int i = 0; i < fit && i < static_cast<int>(rows.size()); ++i) {
        const float y = c.y + static_cast<float>(i) * rowH;
        drawText(ui, {c.x, y, labelW, rowH}, ui.tr(keys::tag(rows[static_cast<std::size_t>(i)].first)), caption(ui, t.text));
        drawText(ui, {c.right() - countW, y, countW, rowH}, std::to_string(rows[static_cast<std::size_t>(i)].second),
                 caption(ui, t.text, Align::Right));
        const float barH = std::max(5.f, std::min(rowH * 0.4f, m.fonts.caption * 0.6f));
        const float trackW = c.w - labelW - countW - m.gap;
        const float w = trackW * static_cast<float>(rows[static_cast<std::size_t>(i)].second) / static_cast<float>(top);
        if (ui.dl != nullptr && trackW > 0)
            ui.dl->AddRectFilled(ImVec2(c.x + labelW + m.gap * 0.5f, y + (rowH - barH) * 0.5f),
                                 ImVec2(c.x + labelW + m.gap * 0.5f + w, y + (rowH + barH) * 0.5f), t.scale[0], barH * 0.5f);
    }
}

/// Dot and word for the sync state (header and panel).
std::pair<ImU32, std::string_view> syncState(const Ui& ui, const SyncPanelVM& s) {
    if (!s.enabled) return {ui.theme.textMuted, ui.tr(keys::kStaffSyncOff)};
    if (s.syncing) return {ui.theme.primary, ui.tr(keys::kStaffSyncing)};
    if (s.online) return {ui.theme.success, ui.tr(keys::kStaffOnline)};
    return {ui.theme.warning, ui.tr(keys::kStaffOffline)};
}

/// A local store failure in a few words of the screen's language (the log has SQLite's own
/// text). A failure of no known kind shows as it came.
std::string storeErrorText(const Ui& ui, const StaffVM& vm) {
    using store::ErrorKind;
    if (!vm.storeErrorKind) return vm.storeError;
    switch (*vm.storeErrorKind) {
    case ErrorKind::Full: return std::string(ui.tr(keys::kStaffStoreFull));
    case ErrorKind::ReadOnly: return std::string(ui.tr(keys::kStaffStoreReadOnly));
    case ErrorKind::Corrupt: return std::string(ui.tr(keys::kStaffStoreCorrupt));
    case ErrorKind::Busy: return std::string(ui.tr(keys::kStaffStoreBusy));
    case ErrorKind::Io: return std::string(ui.tr(keys::kStaffStoreIo));
    case ErrorKind::Schema: return std::string(ui.tr(keys::kStaffStoreSchema));
    case ErrorKind::Invalid: return std::string(ui.tr(keys::kStaffStoreInvalid));
    }
    return vm.storeError;
}

/// The last sync error in a few words of the screen's language (the log has curl's or HQ's
/// own text). Only an error of no known kind shows as it came.
std::string syncErrorText(const Ui& ui, const SyncPanelVM& s) {
    using sync::SendError;
    if (!s.lastErrorKind) return s.lastError;
    switch (*s.lastErrorKind) {
    case SendError::Offline:
    case SendError::Timeout:
    case SendError::TlsHandshake:
    case SendError::Aborted: return std::string(ui.tr(keys::kStaffErrorOffline));
    case SendError::Tls: return std::string(ui.tr(keys::kStaffErrorCertificate));
    case SendError::Unauthorized:
    case SendError::Protocol:
    case SendError::Rejected: return std::string(ui.tr(keys::kStaffErrorRefused));
    case SendError::ServerError:
    case SendError::RateLimited:
    case SendError::TooLarge: return std::string(ui.tr(keys::kStaffErrorServer));
    }
    return s.lastError;
}

Intent syncCard(Ui& ui, const Box& b, const StaffVM& vm) {
    const Theme& t = ui.theme;
    const Metrics& m = ui.m;
    const SyncPanelVM& s = vm.sync;
    const auto [dot, word] = syncState(ui, s);
    const float stateW = std::min(b.w * 0.5f, textWidth(*ui.fonts.caption, m.fonts.caption, word) + m.fonts.caption * 2.f);
    const Box c = card(ui, b, ui.tr(keys::kStaffSync), stateW);
    const float pad = std::round(m.gap * 0.9f);
    const Box stateBox{b.right() - pad - stateW, b.y + pad * 0.6f, stateW, m.fonts.caption * 1.35f};
    if (ui.dl != nullptr)
        ui.dl->AddCircleFilled(ImVec2(stateBox.x + m.fonts.caption * 0.5f, stateBox.center().y), m.fonts.caption * 0.3f, dot, 16);
    drawText(ui, {stateBox.x + m.fonts.caption * 1.1f, stateBox.y, stateW - m.fonts.caption * 1.1f, stateBox.h}, word,
             caption(ui, t.text));

    std::vector<std::pair<std::string, ImU32>> lines;
    if (vm.survey.version > 0) {
        const std::string version = std::to_string(vm.survey.version);
        lines.emplace_back(vm.survey.fetchedAt.empty()
                               ? formatText(ui.tr(keys::kStaffSurveyNotFetched), {{"version", version}})
                               : formatText(ui.tr(keys::kStaffSurvey), {{"version", version}, {"time", vm.survey.fetchedAt}}),
                           t.text);
    }
    const std::int64_t pending = s.enabled ? s.pending : (vm.stats ? vm.stats->pendingSync : 0);
    std::string pend = formatText(ui.tr(keys::kStaffPending), {{"count", std::to_string(pending)}});
    if (s.enabled) {
        lines.emplace_back(formatText(ui.tr(keys::kStaffLastSuccess),
                                      {{"when", s.lastSuccessUtcMs ? agoText(ui, vm.nowUtcMs - *s.lastSuccessUtcMs)
                                                                   : std::string(ui.tr(keys::kStaffNever))}}),
                           t.text);
        if (pending > 0 && s.oldestPendingUtcMs)
            pend += " \u00b7 " + formatText(ui.tr(keys::kStaffOldest), {{"age", agoText(ui, vm.nowUtcMs - *s.oldestPendingUtcMs)}});
    }
    lines.emplace_back(pend, t.text);
    if (s.rejected > 0) lines.emplace_back(formatText(ui.tr(keys::kStaffRejected), {{"count", std::to_string(s.rejected)}}), t.warningInk);
    // HQ's count from its last reply (issue 17): a number only, no personal data on the terminal.
    if (vm.openCallbacks)
        lines.emplace_back(formatText(ui.tr(keys::kStaffOpenCallbacks), {{"count", std::to_string(*vm.openCallbacks)}}),
                           *vm.openCallbacks > 0 ? t.warningInk : t.text);
    if (s.enabled && !s.lastError.empty())
        lines.emplace_back(formatText(ui.tr(keys::kStaffLastError), {{"error", syncErrorText(ui, s)}}), t.warningInk);
    if (vm.survey.configRefused)
        lines.emplace_back(formatText(ui.tr(keys::kStaffConfigRefused), {{"version", std::to_string(vm.survey.version)}}),
                           t.warningInk);

    Intent out;
    const float lineH = m.fonts.caption * 1.3f;
    float textW = c.w, textBottom = c.bottom();
    if (s.enabled) {
        const float bw = buttonWidth(ui, ui.tr(keys::kStaffSyncNow));
        const float bh = m.target;
        // Below the text when the card is tall enough for it, else beside it.
        const bool below = c.h - bh - m.gap >= static_cast<float>(lines.size() + 1) * lineH;
        const Box btn{c.right() - bw, c.bottom() - bh, bw, bh};
        if (below) textBottom = btn.y - m.gap * 0.5f;
        else textW = c.w - bw - m.gap;
        if (button(ui, "sync-now", btn, ui.tr(keys::kStaffSyncNow), ButtonKind::Primary, !s.syncing))
            out = Intent::of(Intent::Kind::SyncNow);
    }
    float y = c.y;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const bool last = i + 1 == lines.size();
        const float h = last ? std::max(lineH, std::min(lineH * 3.f, textBottom - y)) : lineH;
        if (y + lineH > textBottom + 1.f) break;
        drawText(ui, {c.x, y, textW, h}, lines[i].first,
                 {ui.fonts.caption, m.fonts.caption, lines[i].second, Align::Left, last ? 3 : 1, 0.85f, false, true});
        y += h;
    }
    return out;
}

} // namespace

Intent drawStaff(Ui& ui, const StaffVM& vm) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    Intent out;

    // Header: title and store | ‹ date › | sync state | Exit.
    const float exitW = buttonWidth(ui, ui.tr(keys::kStaffExit));
    const float dateW = std::max(textWidth(*ui.fonts.body, m.fonts.body, "0000-00-00") + m.gap * 2, m.target * 1.6f);
    const float navW = 2 * m.target + dateW;
    const auto [dot, word] = syncState(ui, vm.sync);
    const float stateW = textWidth(*ui.fonts.caption, m.fonts.caption, word) + m.fonts.caption * 1.6f;
    const float top = m.margin * 0.5f;
    Box titleBox, nav, state, exit;
    float bodyTop = 0;
    if (!m.portrait) {
        exit = {m.width - m.margin - exitW, top, exitW, m.target};
        state = {exit.x - m.gap - stateW, top, stateW, m.target};
        nav = {state.x - m.gap * 2 - navW, top, navW, m.target};
        titleBox = {m.margin, top, nav.x - m.gap - m.margin, m.target};
        bodyTop = top + m.target + m.gap;
    } else {
        exit = {m.width - m.margin - exitW, top, exitW, m.target};
        titleBox = {m.margin, top, exit.x - m.gap - m.margin, m.target};
        nav = {(m.width - navW) * 0.5f, top + m.target + m.gap * 0.5f, navW, m.target};
        state = {m.width - m.margin - stateW, nav.y, stateW, m.target};
        bodyTop = nav.bottom() + m.gap;
    }
    drawText(ui, {titleBox.x, titleBox.y, titleBox.w, titleBox.h * 0.55f}, ui.tr(keys::kStaffTitle),
             {ui.fonts.body, m.fonts.body, t.text, Align::Left, 1, 0.6f, false});
    drawText(ui, {titleBox.x, titleBox.y + titleBox.h * 0.55f, titleBox.w, titleBox.h * 0.45f},
             formatText(ui.tr(keys::kStaffStore), {{"store", vm.storeId}, {"device", vm.deviceId}}),
             {ui.fonts.caption, m.fonts.caption, t.textMuted, Align::Left, 1, 0.6f, false, true});

    const Box prev{nav.x, nav.y, m.target, m.target};
    const Box next{nav.right() - m.target, nav.y, m.target, m.target};
    const Box date{prev.right(), nav.y, dateW, m.target};
    const Press pp = hitArea(ui, "day-prev", prev);
    const Press pn = vm.dayOffset < 0 ? hitArea(ui, "day-next", next) : Press{};
    const Press pd = vm.dayOffset < 0 ? hitArea(ui, "day-today", date) : Press{};
    if (ui.dl != nullptr) {
        for (const auto& [box, press, left, on] : {std::tuple{prev, pp, true, true}, std::tuple{next, pn, false, vm.dayOffset < 0}}) {
            ui.dl->AddRectFilled(box.inset(4.f).min(), box.inset(4.f).max(), press.held ? t.surfacePressed : t.surface, m.radius);
            drawChevron(ui.dl, box.center(), m.target * 0.32f, left, on ? t.text : withAlpha(t.textMuted, 0.4f), 3.f);
        }
    }
    drawText(ui, {date.x, date.y + date.h * 0.08f, date.w, date.h * 0.5f}, vm.date, {ui.fonts.body, m.fonts.body, t.text, Align::Center, 1});
    // Under a past date, the way back to today.
    const std::string under = vm.dayOffset == 0 ? std::string(ui.tr(keys::kStaffToday))
                                                : std::string(ui.tr(keys::kStaffToday)) + " \u2192";
    drawText(ui, {date.x, date.y + date.h * 0.56f, date.w, date.h * 0.38f}, under,
             caption(ui, vm.dayOffset == 0 ? t.textMuted : t.text, Align::Center));
    if (pp.clicked) out = Intent::of(Intent::Kind::StaffDay, -1);
    if (pn.clicked) out = Intent::of(Intent::Kind::StaffDay, 1);
    if (pd.clicked) out = Intent::of(Intent::Kind::StaffDay, 0);

    if (ui.dl != nullptr) ui.dl->AddCircleFilled(ImVec2(state.x + m.fonts.caption * 0.5f, state.center().y), m.fonts.caption * 0.32f, dot, 16);
    drawText(ui, {state.x + m.fonts.caption * 1.2f, state.y, state.w - m.fonts.caption * 1.2f, state.h}, word, caption(ui, t.text));
    if (button(ui, "exit", exit, ui.tr(keys::kStaffExit), ButtonKind::Secondary)) out = Intent::of(Intent::Kind::ExitStaff);

    // Notices: a recreated database, a store that refuses writes, responses held in memory.
    std::vector<std::string> notices;
    if (vm.recovery)
        notices.push_back(formatText(ui.tr(keys::kStaffRecovered), {{"when", vm.recovery->when}, {"path", vm.recovery->movedTo}}));
    if (!vm.storeError.empty()) notices.push_back(formatText(ui.tr(keys::kStaffStoreError), {{"error", storeErrorText(ui, vm)}}));
    if (vm.unsaved > 0) notices.push_back(formatText(ui.tr(keys::kStaffUnsaved), {{"count", std::to_string(vm.unsaved)}}));
    float y = bodyTop;
    const float noticeH = std::round(m.fonts.caption * 2.7f);
    for (std::size_t i = 0; i < notices.size(); ++i) {
        const Box nb{m.margin, y, m.width - 2 * m.margin, noticeH};
        if (ui.dl != nullptr) ui.dl->AddRectFilled(nb.min(), nb.max(), t.warning, m.radius * 0.6f);
        drawText(ui, nb.inset(m.gap, 2.f), notices[i], {ui.fonts.caption, m.fonts.caption, t.onWarning, Align::Left, 2, 0.75f, true, true});
        y += noticeH + m.gap * 0.5f;
    }

    const float W = m.width - 2 * m.margin;
    const float g = m.gap;
    const float H = m.height - m.margin - y;
    if (!m.portrait) {
        const float rowsH = H - 2 * g;
        const float hA = std::round(rowsH * 0.24f), hB = std::round(rowsH * 0.38f), hC = rowsH - hA - hB;
        const float tileW = (W - 3 * g) / 4.f;
        kpiResponses(ui, {m.margin, y, tileW, hA}, vm);
        kpiStars(ui, {m.margin + (tileW + g), y, tileW, hA}, vm);
        kpiCsat(ui, {m.margin + 2 * (tileW + g), y, tileW, hA}, vm);
        kpiNotScored(ui, {m.margin + 3 * (tileW + g), y, tileW, hA}, vm);
        y += hA + g;
        const float wS = std::round((W - 2 * g) * 0.4f), wH = std::round((W - 2 * g) * 0.3f), wT = W - 2 * g - wS - wH;
        segueCard(ui, {m.margin, y, wS, hB}, vm);
        hoursCard(ui, {m.margin + wS + g, y, wH, hB}, vm);
        tagsCard(ui, {m.margin + wS + wH + 2 * g, y, wT, hB}, vm);
        y += hB + g;
        const float wTrend = std::round((W - g) * 0.6f);
        trendCard(ui, {m.margin, y, wTrend, hC}, vm);
        const Intent s = syncCard(ui, {m.margin + wTrend + g, y, W - g - wTrend, hC}, vm);
        if (s.kind != Intent::Kind::None) out = s;
    } else {
        const float rowsH = H - 5 * g;
        const float hK = std::round(rowsH * 0.1f);
        const float hS = std::round(rowsH * 0.17f), hH = std::round(rowsH * 0.13f), hT = std::round(rowsH * 0.2f);
        const float hL = rowsH - 2 * hK - hS - hH - hT;
        const float tileW = (W - g) / 2.f;
        kpiResponses(ui, {m.margin, y, tileW, hK}, vm);
        kpiStars(ui, {m.margin + tileW + g, y, tileW, hK}, vm);
        y += hK + g * 0.5f;
        kpiCsat(ui, {m.margin, y, tileW, hK}, vm);
        kpiNotScored(ui, {m.margin + tileW + g, y, tileW, hK}, vm);
        y += hK + g;
        segueCard(ui, {m.margin, y, W, hS}, vm);
        y += hS + g;
        hoursCard(ui, {m.margin, y, W, hH}, vm);
        y += hH + g;
        trendCard(ui, {m.margin, y, W, hT}, vm);
        y += hT + g;
        const float half = (W - g) / 2.f;
        tagsCard(ui, {m.margin, y, half, hL}, vm);
        const Intent s = syncCard(ui, {m.margin + half + g, y, half, hL}, vm);
        if (s.kind != Intent::Kind::None) out = s;
    }
    return out;
}

} // namespace segue::app
