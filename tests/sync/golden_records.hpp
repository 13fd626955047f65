// A fixed set of responses covering what the codecs must write byte for byte (escapes, non-ASCII,
// nulls, empty and full tag lists, negative and large numbers), and the text the JSON and CSV
// writers make of them. tests/sync/golden/records.txt holds that text as the code before the
// field table (core/response_fields.hpp) wrote it; golden_test.cpp compares against it.
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/response.hpp"
#include "sync/wire.hpp"

namespace segue::test::golden {

inline std::vector<core::Response> records() {
    // Text cells never begin with = + - @ tab or CR: those are prefixed in CSV since issue 21.
    const std::vector<std::string> texts = {"store-1", "", "a\"quote", "back\\slash", "in\ttab", "line\nbreak",
                                            "comma,here", "x\x01\x1f control", "\x7f del", "门店-上海",
                                            "emoji \xf0\x9f\x98\x80", "0190f1e2-3a4b-7c5d-8e6f-0123456789ab"};
    std::mt19937 rng(20261206);   // raw mt19937 output is fixed by the standard
    auto pick = [&] { return texts[rng() % texts.size()]; };
    std::vector<core::Response> out;
    for (int n = 0; n < 80; ++n) {
        core::Response r;
        r.id = pick();
        r.storeId = pick();
        r.deviceId = pick();
        r.surveyId = pick();
        r.surveyVersion = static_cast<int>(rng() % 5) - 1;
        r.language = pick();
        r.createdAtMs = 1'577'836'800'000 + static_cast<std::int64_t>(rng() % 3'000'000'000) * 1000 + n;
        r.localDate = pick();
        r.localHour = static_cast<int>(rng() % 24);
        r.utcOffsetMin = static_cast<int>(rng() % 1681) - 840;
        r.stars = static_cast<int>(rng() % 7) - 1;
        for (auto& s : r.segue) s = rng() % 3 == 0 ? std::nullopt : std::optional<int>(static_cast<int>(rng() % 5) + 1);
        const auto tagCount = rng() % 5 == 0 ? 16 : rng() % 4;
        for (std::uint32_t t = 0; t < tagCount; ++t) r.tags.push_back(pick() + std::to_string(t));
        r.complete = rng() % 2 == 0;
        r.misuse = rng() % 2 == 0;
        r.synthetic = rng() % 2 == 0;
        r.durationMs = rng() % 4 == 0 ? static_cast<std::int64_t>(rng()) * 4'000'000'007LL : rng() % 100'000;
        out.push_back(std::move(r));
    }
    return out;
}

/// Every line the codecs write for records(): per record its JSON (tree dump and appendJson),
/// its CSV rows without and with received_at; then the CSV headers and a batch of the first ten.
inline std::string text() {
    const auto rs = records();
    std::string out;
    for (std::size_t i = 0; i < rs.size(); ++i) {
        const auto& r = rs[i];
        out += "json " + core::toJson(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        std::string fast;
        try {
            core::appendJson(fast, r);
        } catch (const nlohmann::json::exception& e) {
            fast = std::string("throws: ") + e.what();
        }
        out += "append " + fast + "\n";
        out += "csv " + wire::csvRow(r);
        out += "csv+ " + wire::csvRow(r, 1'795'000'000'000 + static_cast<std::int64_t>(i));
    }
    out += "header " + wire::csvHeader();
    out += "header+ " + wire::csvHeader(true);
    wire::Batch b;
    b.batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab";
    b.deviceId = "kiosk-1";
    b.sentAtMs = 1'795'000'123'456;
    b.pending = 17;
    b.appVersion = "0.1.0";
    b.clockOffsetMs = -1234;
    b.responses.assign(rs.begin(), rs.begin() + 10);
    out += "batch " + wire::encodeBatch(b) + "\n";
    return out;
}

} // namespace segue::test::golden
