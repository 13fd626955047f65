#include "bench/support.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <numeric>

#include <sys/resource.h>

#include "core/time.hpp"

namespace segue::bench {

double monoMs() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double selfCpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Samples::percentile(double p) const {
    if (m_values.empty()) return 0;
    std::vector<double> v = m_values;
    std::sort(v.begin(), v.end());
    // Nearest rank: the smallest value with at least p% of the samples at or below it.
    const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
    const std::size_t i = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
    return v[std::min(i, v.size() - 1)];
}

double Samples::mean() const {
    if (m_values.empty()) return 0;
    return std::accumulate(m_values.begin(), m_values.end(), 0.0) / static_cast<double>(m_values.size());
}

double medianOf(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void emit(const Row& row) {
    nlohmann::json j = {
        {"name", row.name},
        {"value", row.value},
        {"baseline", row.baseline},
        {"ratio", row.baseline != 0 ? row.value / row.baseline : 0.0},
        {"unit", row.unit},
        {"goal", row.goal},
        {"met", row.met},
        {"details", row.details},
    };
    if (row.reference) j["reference"] = true;
    std::cout << j.dump() << std::endl;
}

Args::Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (!a.starts_with("--")) fail("unexpected argument '" + a + "'");
        a = a.substr(2);
        if (i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--")
            m_items.emplace_back(a, std::string(argv[++i]));
        else
            m_items.emplace_back(a, std::nullopt);
    }
}

std::optional<std::string> Args::value(const std::string& name) const {
    for (const auto& [k, v] : m_items)
        if (k == name) return v;
    return std::nullopt;
}

std::string Args::text(const std::string& name, const std::string& fallback) const {
    auto v = value(name);
    return v ? *v : fallback;
}

std::int64_t Args::integer(const std::string& name, std::int64_t fallback) const {
    const auto v = value(name);
    if (!v) return fallback;
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size()) fail("--" + name + " must be an integer");
    return out;
}

double Args::number(const std::string& name, double fallback) const {
    const auto v = value(name);
    if (!v) return fallback;
    char* end = nullptr;
    const double out = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0') fail("--" + name + " must be a number");
    return out;
}

bool Args::flag(const std::string& name) const {
    for (const auto& [k, v] : m_items)
        if (k == name) return true;
    return false;
}

void Args::allowOnly(const std::vector<std::string>& known) const {
    for (const auto& [k, v] : m_items)
        if (std::find(known.begin(), known.end(), k) == known.end()) {
            std::cerr << "segue-bench: unknown option --" << k << "\n";
            std::exit(2);
        }
}

namespace {
void (*g_failHook)() = nullptr;
} // namespace

void setFailHook(void (*hook)()) { g_failHook = hook; }

void fail(const std::string& why) {
    std::cerr << "segue-bench: " << why << std::endl;
    if (g_failHook != nullptr) g_failHook();
    std::exit(1);
}

const std::vector<std::string>& reasonTags() {
    static const std::vector<std::string> tags = {"wait_time", "attitude", "not_solved",
                                                  "unclear",   "environment", "price"};
    return tags;
}

namespace {

// Share of a day's customers by store-local hour: open 08–21, peaks at lunch and early evening.
constexpr std::array<double, 24> kHourWeights = {0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 7, 9,
                                                 12, 10, 7, 6, 7, 9, 11, 8, 5, 3, 0, 0};

} // namespace

Traffic::Traffic(TrafficOptions options) : m_options(std::move(options)), m_rng(m_options.seed), m_ids(m_options.seed) {
    if (!core::isIsoDate(m_options.lastDate)) fail("last date '" + m_options.lastDate + "' is not YYYY-MM-DD");
    if (m_options.days < 1) fail("days must be >= 1");
}

std::vector<core::Response> Traffic::nextDay() {
    std::vector<core::Response> out;
    if (m_made >= m_options.count || m_day >= m_options.days) return out;
    const std::int64_t base = m_options.count / m_options.days;
    const std::int64_t n = base + (m_day < m_options.count % m_options.days ? 1 : 0);
    const std::string date = core::addDays(m_options.lastDate, -(m_options.days - 1) + m_day);
    const std::int64_t localMidnightMs = *core::daysFromIsoDate(date) * 86'400'000;
    const std::int64_t utcMidnightMs = localMidnightMs - std::int64_t{m_options.utcOffsetMin} * 60'000;

    std::discrete_distribution<int> hour(kHourWeights.begin(), kHourWeights.end());
    std::uniform_int_distribution<std::int64_t> withinHour(0, 3'599'999);
    std::vector<std::int64_t> times;
    times.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        times.push_back(utcMidnightMs + std::int64_t{hour(m_rng)} * 3'600'000 + withinHour(m_rng));
    std::sort(times.begin(), times.end());
    out.reserve(times.size());
    for (const auto t : times) out.push_back(make(t));
    m_made += n;
    ++m_day;
    return out;
}

core::Response Traffic::make(std::int64_t utcMs) {
    std::uniform_real_distribution<double> u(0, 1);
    core::Response r;
    r.id = m_ids.next(utcMs);
    r.storeId = m_options.storeId;
    r.deviceId = m_options.deviceId;
    r.surveyId = "segue-default";
    r.surveyVersion = 1;
    r.language = u(m_rng) < 0.7 ? "zh-CN" : "en";
    r.createdAtMs = utcMs;
    r.utcOffsetMin = m_options.utcOffsetMin;
    r.localDate = core::localDate(utcMs, r.utcOffsetMin);
    r.localHour = core::localHour(utcMs, r.utcOffsetMin);
    const double s = u(m_rng);
    r.stars = s < 0.05 ? 1 : s < 0.10 ? 2 : s < 0.20 ? 3 : s < 0.45 ? 4 : 5;
    r.complete = u(m_rng) >= 0.04;
    r.misuse = u(m_rng) < 0.02;
    r.synthetic = true;
    // Answers cluster around the star rating; a partial response stops part-way.
    const int answered = r.complete ? 5 : static_cast<int>(m_rng() % 5);
    std::normal_distribution<double> spread(0, 0.8);
    for (int i = 0; i < core::kSegueCount; ++i) {
        if (i >= answered || u(m_rng) < 0.08) continue;
        const int v = static_cast<int>(std::lround(r.stars + spread(m_rng)));
        r.segue[static_cast<std::size_t>(i)] = std::clamp(v, 1, 5);
    }
    if (r.stars <= 3 && r.complete) {
        const auto& tags = reasonTags();
        const int k = static_cast<int>(m_rng() % 3);   // 0, 1 or 2 tags
        for (int i = 0; i < k; ++i) {
            const std::string& t = tags[m_rng() % tags.size()];
            if (std::find(r.tags.begin(), r.tags.end(), t) == r.tags.end()) r.tags.push_back(t);
        }
    }
    r.durationMs = 4'000 + static_cast<std::int64_t>(m_rng() % 40'000);
    return r;
}

} // namespace segue::bench
