// The real clock for segue-hq: steady time for rates and latency, wall time for stamps (UTC).
#pragma once
#include <chrono>

#include "core/time.hpp"

namespace segue::hq {

class SystemClock final : public core::Clock {
public:
    core::Now now() const override {
        using namespace std::chrono;
        return {duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count(),
                duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(), 0};
    }
};

} // namespace segue::hq
