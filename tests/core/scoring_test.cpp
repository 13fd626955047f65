#include <catch2/catch.hpp>

#include <random>

#include <nlohmann/json.hpp>

#include "core/scoring.hpp"
#include "test_support.hpp"

using namespace segue::core;
using segue::test::sampleResponse;

namespace {
Response rated(int stars, bool complete = true, bool misuse = false) {
    Response r = sampleResponse();
    r.stars = stars;
    r.complete = complete;
    r.misuse = misuse;
    r.tags.clear();
    return r;
}
} // namespace

TEST_CASE("csat is the share of counted responses with 4-5 stars; misuse is not counted") {
    Tally t;
    for (int s : {5, 5, 4, 3, 1}) t.add(rated(s));
    t.add(rated(1, true, /*misuse=*/true));
    t.add(rated(5, /*complete=*/false));
    const auto d = summarize(t, "2026-11-22", 7);
    CHECK(d.responses == 6);
    CHECK(d.partial == 1);
    CHECK(d.misuse == 1);
    CHECK(d.pendingSync == 7);
    REQUIRE(d.csat);
    CHECK(*d.csat == Approx(4.0 / 6.0));
    REQUIRE(d.meanStars);
    CHECK(*d.meanStars == Approx(23.0 / 6.0));
    CHECK_FALSE(meetsTarget(d, 0.9));
}

TEST_CASE("SEGUE means skip unanswered items; empty days have null means") {
    Tally t;
    Response a = rated(4);
    a.segue = {5, std::nullopt, 1, std::nullopt, std::nullopt};
    Response b = rated(2);
    b.segue = {3, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    b.tags = {"wait_time"};
    t.add(a);
    t.add(b);
    const auto d = summarize(t, "2026-11-22");
    CHECK(*d.segue[0] == Approx(4.0));
    CHECK_FALSE(d.segue[1].has_value());
    CHECK(*d.segue[2] == Approx(1.0));
    CHECK(d.tags.at("wait_time") == 1);
    CHECK(d.byHour[14] == 2);

    const auto empty = summarize(Tally{}, "2026-11-23");
    CHECK_FALSE(empty.meanStars.has_value());
    CHECK_FALSE(empty.csat.has_value());
    CHECK_FALSE(meetsTarget(empty, 0.9));
    const auto j = toJson(empty);
    CHECK(j["mean_stars"].is_null());
    CHECK(j["segue"]["genuine"].is_null());
    CHECK(j["by_hour"].size() == 24);
}

TEST_CASE("the stats JSON has exactly the contract keys") {
    Tally t;
    t.add(rated(5));
    const auto j = toJson(summarize(t, "2026-11-22", 2));
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<std::string>{"by_hour", "csat", "date", "mean_stars", "misuse", "partial",
                                           "pending_sync", "responses", "segue", "tags"});
    CHECK(j["segue"].size() == 5);
    CHECK(j["csat"] == 1.0);
    CHECK(j["pending_sync"] == 2);
}

TEST_CASE("merging tallies equals adding every response to one tally") {
    std::mt19937 rng(3);
    Tally whole, left, right;
    for (int i = 0; i < 500; ++i) {
        Response r = rated(1 + static_cast<int>(rng() % 5), rng() % 4 != 0, rng() % 10 == 0);
        r.localHour = static_cast<int>(rng() % 24);
        for (auto& s : r.segue) s = rng() % 3 == 0 ? std::nullopt : std::optional<int>(1 + rng() % 5);
        if (r.stars <= 3 && rng() % 2) r.tags = {"attitude"};
        whole.add(r);
        (i % 2 ? left : right).add(r);
    }
    left.merge(right);
    CHECK(left == whole);
}
