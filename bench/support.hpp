// Shared pieces of the benchmark programs: timing, percentiles, result rows and synthetic
// responses shaped like a real store's traffic.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/response.hpp"
#include "core/uuid.hpp"

namespace segue::bench {

/// Milliseconds on the steady clock (fractional).
double monoMs();

/// CPU seconds of this process, every thread (user + system).
double selfCpuSeconds();

/// A set of measurements with nearest-rank percentiles.
class Samples {
public:
    void add(double v) { m_values.push_back(v); }
    std::size_t size() const { return m_values.size(); }
    bool empty() const { return m_values.empty(); }
    /// p in [0, 100]; 0 when empty.
    double percentile(double p) const;
    double median() const { return percentile(50); }
    double max() const { return percentile(100); }
    double mean() const;

private:
    std::vector<double> m_values;
};

/// Median of a few values (repeats of a whole measurement).
double medianOf(std::vector<double> values);

/// One line of a benchmark's output: the contract fields of results.json plus details.
struct Row {
    std::string name;
    double value = 0;
    double baseline = 0;
    std::string unit;
    std::string goal;
    bool met = false;
    /// A comparison for the reader (e.g. the behaviour before a fix), not a goal: shown, not counted.
    bool reference = false;
    nlohmann::json details = nlohmann::json::object();
};

/// Prints the row as one JSON line on stdout (ratio = value / baseline) and flushes.
void emit(const Row& row);

/// Options every benchmark command understands: `--name value` pairs and `--flag`s.
class Args {
public:
    Args(int argc, char** argv, int first);
    std::optional<std::string> value(const std::string& name) const;
    std::string text(const std::string& name, const std::string& fallback) const;
    std::int64_t integer(const std::string& name, std::int64_t fallback) const;
    double number(const std::string& name, double fallback) const;
    bool flag(const std::string& name) const;
    /// Exits with status 2 and a one-line reason when an option is not in `known`.
    void allowOnly(const std::vector<std::string>& known) const;

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> m_items;
};

/// Stops the program with a one-line reason on stderr (status 1), after stopping the child
/// processes it started (see process.hpp).
[[noreturn]] void fail(const std::string& why);

/// Called by fail() before exiting; process.cpp installs one that stops every live Child.
void setFailHook(void (*hook)());

/// Realistic traffic for one store: opening hours weighted to lunch and evening, stars skewed
/// high, most SEGUE items answered, reason tags after low ratings, a few partial and misuse
/// responses. Deterministic for a seed; emits in creation order with time-ordered UUIDv7 ids.
struct TrafficOptions {
    std::string storeId = "store-bench";
    std::string deviceId = "kiosk-bench";
    std::string lastDate = "2026-06-30";   ///< store-local date of the last day
    int days = 730;
    std::int64_t count = 1'000'000;
    int utcOffsetMin = 480;                ///< Asia/Shanghai
    std::uint64_t seed = 7;
};

class Traffic {
public:
    explicit Traffic(TrafficOptions options);
    /// The next day's responses, oldest first; empty when all `count` were made.
    std::vector<core::Response> nextDay();
    const TrafficOptions& options() const { return m_options; }

private:
    core::Response make(std::int64_t utcMs);

    TrafficOptions m_options;
    std::mt19937_64 m_rng;
    core::UuidV7Generator m_ids;
    int m_day = 0;
    std::int64_t m_made = 0;
};

/// The survey's reason tags (assets/survey/default.json).
const std::vector<std::string>& reasonTags();

} // namespace segue::bench
