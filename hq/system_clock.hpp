// The real clock for segue-hq: steady time for rates and latency, wall time for stamps (UTC),
// and the machine's local UTC offset for HQ's calendar (unless the config names one).
#pragma once
#include <chrono>
#include <ctime>

#include "core/time.hpp"

namespace segue::hq {

class SystemClock final : public core::Clock {
public:
    core::Now now() const override {
        using namespace std::chrono;
        const auto wallMs = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
        const std::time_t secs = static_cast<std::time_t>(wallMs / 1000);
        std::tm local{};
        const int offsetMin = localtime_r(&secs, &local) ? static_cast<int>(local.tm_gmtoff / 60) : 0;
        return {duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count(), wallMs, offsetMin};
    }
};

} // namespace segue::hq
