#include <catch2/catch.hpp>

#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "core/response.hpp"
#include "test_support.hpp"

using namespace segue::core;
using segue::test::sampleResponse;

TEST_CASE("a response survives toJson/fromJson unchanged, null SEGUE items included") {
    const Response r = sampleResponse();
    REQUIRE_FALSE(validate(r).has_value());
    const auto j = toJson(r);
    CHECK(j["segue"]["efficient"].is_null());
    CHECK(j["segue"]["satisfactory"] == 5);
    CHECK(j["created_at"] == "2026-11-22T06:30:00.250Z");
    std::string err;
    const auto back = fromJson(nlohmann::json::parse(j.dump()), &err);
    REQUIRE(back.has_value());
    CHECK(*back == r);
}

TEST_CASE("fromJson names the bad field and never wraps out-of-range integers") {
    auto decodeError = [](nlohmann::json j) {
        std::string err;
        REQUIRE_FALSE(fromJson(j, &err).has_value());
        return err;
    };
    const auto good = toJson(sampleResponse());
    auto j = good;
    j["stars"] = "4";
    CHECK_THAT(decodeError(j), Catch::Contains("stars"));
    j = good;
    j["stars"] = 4294967297ULL;  // would wrap to 1 in a 32-bit int
    CHECK_THAT(decodeError(j), Catch::Contains("stars"));
    j = good;
    j["segue"]["speed"] = 3;
    CHECK_THAT(decodeError(j), Catch::Contains("unknown key \"speed\""));
    j = good;
    j["created_at"] = "yesterday";
    CHECK_THAT(decodeError(j), Catch::Contains("created_at"));
    j = good;
    j.erase("complete");
    CHECK_THAT(decodeError(j), Catch::Contains("complete"));
    j = good;
    j["tags"] = {1, 2};
    CHECK_THAT(decodeError(j), Catch::Contains("tags"));
    j = good;
    j["future_field"] = {{"x", 1}};  // unknown top-level keys are tolerated
    std::string err;
    CHECK(fromJson(j, &err).has_value());
}

TEST_CASE("validate refuses out-of-range values with a reason") {
    Survey survey;
    survey.tags = {"wait_time", "attitude"};
    auto reason = [&](auto mutate) {
        Response r = sampleResponse();
        mutate(r);
        const auto why = validate(r, &survey);
        REQUIRE(why.has_value());
        return *why;
    };
    CHECK_THAT(reason([](Response& r) { r.stars = 6; }), Catch::Contains("stars"));
    CHECK_THAT(reason([](Response& r) { r.stars = 0; }), Catch::Contains("stars"));
    CHECK_THAT(reason([](Response& r) { r.segue[2] = 9; }), Catch::Contains("segue.genuine"));
    CHECK_THAT(reason([](Response& r) { r.id = "not-a-uuid"; }), Catch::Contains("UUID"));
    CHECK_THAT(reason([](Response& r) { r.localDate = "2026-11-21"; }), Catch::Contains("local_date"));
    CHECK_THAT(reason([](Response& r) { r.language = "fr"; }), Catch::Contains("language"));
    CHECK_THAT(reason([](Response& r) { r.tags = {"price"}; }), Catch::Contains("unknown tag"));
    CHECK_THAT(reason([](Response& r) { r.storeId = "store 1; drop"; }), Catch::Contains("store_id"));
    CHECK_THAT(reason([](Response& r) { r.createdAtMs = 0; }), Catch::Contains("created_at"));
    CHECK_FALSE(validate(sampleResponse(), &survey).has_value());
}

TEST_CASE("appendJson writes exactly what the JSON tree's dump() writes") {
    // Any field a terminal could hold, including text that needs escaping or is not ASCII:
    // the drain's encoder and the tree must agree byte for byte.
    const std::vector<std::string> texts = {"store-1", "", "a\"quote", "back\\slash", "tab\there", "line\nbreak",
                                            "\x01\x1f control", "\x7f del", "门店-上海", "emoji \xf0\x9f\x98\x80"};
    std::mt19937 rng(20261122);
    auto pick = [&](const std::vector<std::string>& from) { return from[rng() % from.size()]; };
    for (int n = 0; n < 500; ++n) {
        Response r = sampleResponse();
        r.id = pick(texts);
        r.storeId = pick(texts);
        r.deviceId = pick(texts);
        r.surveyId = pick(texts);
        r.language = pick(texts);
        r.localDate = pick(texts);
        r.surveyVersion = static_cast<int>(rng() % 5) - 1;
        r.createdAtMs = 1'577'836'800'000 + static_cast<std::int64_t>(rng() % 3'000'000'000) * 1000 + n;
        r.localHour = static_cast<int>(rng() % 24);
        r.utcOffsetMin = static_cast<int>(rng() % 1681) - 840;
        r.stars = static_cast<int>(rng() % 7) - 1;
        for (auto& s : r.segue) s = rng() % 3 == 0 ? std::nullopt : std::optional<int>(static_cast<int>(rng() % 5) + 1);
        r.tags.clear();
        for (std::size_t t = rng() % 4; t > 0; --t) r.tags.push_back(pick(texts));
        r.complete = rng() % 2;
        r.misuse = rng() % 2;
        r.synthetic = rng() % 2;
        r.durationMs = n % 7 == 0 ? std::numeric_limits<std::int64_t>::min() : static_cast<std::int64_t>(rng());
        std::string fast;
        appendJson(fast, r);
        REQUIRE(fast == toJson(r).dump());
    }
    // Not UTF-8: refused the same way (nlohmann's type_error 316), never written half-escaped.
    Response bad = sampleResponse();
    bad.tags = {"\xff\xfe"};
    std::string out;
    CHECK_THROWS_AS(appendJson(out, bad), nlohmann::json::type_error);
    CHECK_THROWS_AS(toJson(bad).dump(), nlohmann::json::type_error);
}
