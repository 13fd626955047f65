// Shared builders for core tests.
#pragma once
#include "core/response.hpp"
#include "core/time.hpp"

namespace segue::test {

inline core::Response sampleResponse() {
    core::Response r;
    r.id = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab";
    r.storeId = "store-1";
    r.deviceId = "kiosk-1";
    r.surveyId = "segue-default";
    r.surveyVersion = 1;
    r.language = "zh-CN";
    r.createdAtMs = *core::parseUtc("2026-11-22T06:30:00.250Z");
    r.utcOffsetMin = 480;
    r.localDate = "2026-11-22";
    r.localHour = 14;
    r.stars = 2;
    r.segue = {5, std::nullopt, 3, 1, 4};
    r.tags = {"wait_time", "attitude"};
    r.complete = true;
    r.durationMs = 8200;
    return r;
}

} // namespace segue::test
