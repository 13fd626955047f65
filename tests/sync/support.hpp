// Shared pieces of the sync tests: temporary directories, realistic responses, a scripted
// Transport that stands in for HQ in unit tests of the drain logic.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "core/time.hpp"
#include "sync/transport.hpp"
#include "sync/wire.hpp"
#include "tests/support/temp_dir.hpp"

namespace segue::test {

using segue::testing::TempDir;


/// `count` valid responses with time-ordered ids, spread over `days` store-local days ending
/// at the day of `lastUtcMs`, with a deterministic mix of stars, SEGUE answers, tags, partial
/// and misuse flags.
std::vector<core::Response> makeResponses(int count, const std::string& storeId, const std::string& deviceId,
                                          std::int64_t lastUtcMs, int days = 3, std::uint64_t seed = 7);

/// A stand-in for HQ: keeps the ids it has, answers accepted / duplicate, rejects ids listed in
/// `rejectIds`, and can be scripted to fail the next calls.
class FakeHq final : public sync::Transport {
public:
    explicit FakeHq(const core::Clock& clock) : m_clock(clock) {}

    std::expected<wire::BatchAck, sync::SendFailure> post(const wire::Batch& batch) override;

    std::vector<wire::Batch> batches;              ///< every batch posted, in order
    std::set<std::string> stored;                  ///< ids HQ holds
    std::map<std::string, std::string> rejectIds;  ///< id -> reason
    std::vector<sync::SendFailure> failNext;       ///< consumed front first
    std::size_t maxRecords = 0;                    ///< > 0: larger batches get 413
    std::int64_t serverSkewMs = 0;                 ///< HQ clock minus the terminal's clock
    /// Rewrites a correct ack before it is returned (lost, foreign or doubled ids).
    std::function<void(wire::BatchAck&)> tamper;

private:
    const core::Clock& m_clock;
};

} // namespace segue::test
