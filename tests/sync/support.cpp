#include "tests/sync/support.hpp"

#include <random>
#include <system_error>

#include <unistd.h>

#include "core/uuid.hpp"

namespace segue::test {

std::vector<core::Response> makeResponses(int count, const std::string& storeId, const std::string& deviceId,
                                          std::int64_t lastUtcMs, int days, std::uint64_t seed) {
    static const std::vector<std::string> kTags = {"wait_time", "attitude", "not_solved",
                                                   "unclear", "environment", "price"};
    std::mt19937_64 rng(seed);
    core::UuidV7Generator ids(seed);
    const std::int64_t span = static_cast<std::int64_t>(days) * 86'400'000 - 1;
    const std::int64_t first = lastUtcMs - span;
    std::vector<core::Response> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        core::Response r;
        r.createdAtMs = first + (count > 1 ? span * i / (count - 1) : span);
        r.id = ids.next(r.createdAtMs);
        r.storeId = storeId;
        r.deviceId = deviceId;
        r.surveyId = "segue-default";
        r.surveyVersion = 1;
        r.language = (rng() % 3 == 0) ? "en" : "zh-CN";
        r.utcOffsetMin = 480;
        r.localDate = core::localDate(r.createdAtMs, r.utcOffsetMin);
        r.localHour = core::localHour(r.createdAtMs, r.utcOffsetMin);
        r.stars = 1 + static_cast<int>(rng() % 5);
        for (auto& s : r.segue)
            if (rng() % 4 != 0) s = 1 + static_cast<int>(rng() % 5);
        if (r.stars <= 3 && rng() % 2 == 0) {
            r.tags.push_back(kTags[rng() % 3]);
            r.tags.push_back(kTags[3 + rng() % 3]);
        }
        r.complete = rng() % 10 != 0;
        r.misuse = rng() % 25 == 0;
        r.durationMs = 2'000 + static_cast<std::int64_t>(rng() % 20'000);
        out.push_back(std::move(r));
    }
    return out;
}

std::expected<wire::BatchAck, sync::SendFailure> FakeHq::post(const wire::Batch& batch) {
    batches.push_back(batch);
    if (!failNext.empty()) {
        sync::SendFailure f = failNext.front();
        failNext.erase(failNext.begin());
        return std::unexpected(std::move(f));
    }
    if (maxRecords > 0 && batch.responses.size() > maxRecords)
        return std::unexpected(sync::SendFailure{sync::SendError::TooLarge, "over the record limit", 413, {}});
    wire::BatchAck ack;
    for (const auto& r : batch.responses) {
        if (auto it = rejectIds.find(r.id); it != rejectIds.end()) {
            ack.rejected.push_back({r.id, it->second});
        } else if (stored.insert(r.id).second) {
            ack.accepted.push_back(r.id);
        } else {
            ack.duplicates.push_back(r.id);
        }
    }
    ack.serverTimeMs = m_clock.now().utcMs + serverSkewMs;
    if (tamper) tamper(ack);
    return ack;
}

} // namespace segue::test
