// The batch wire codec, gzip helpers and CSV rows (sync/wire.hpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <limits>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/time.hpp"

#include "sync/batch_reader.hpp"
#include "sync/wire.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

wire::Batch sampleBatch(std::size_t n) {
    test::ResponseFactory f("store-1", "kiosk-1", 7);
    wire::Batch b;
    b.batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab";
    b.deviceId = "kiosk-1";
    b.sentAtMs = 1'795'000'123'456;
    b.pending = 17;
    b.appVersion = "0.1.0";
    b.clockOffsetMs = -1234;
    b.responses = f.make(n);
    return b;
}

json validRecord(const std::string& id) {
    return core::toJson(test::makeResponse(id, "store-1", "kiosk-1", 1'795'000'000'000, 2));
}

json envelope(json responses) {
    return {{"protocol", 1},         {"batch_id", "0190f1e2-3a4b-7c5d-8e6f-0123456789ab"},
            {"device_id", "kiosk-1"}, {"sent_at", "2026-11-22T06:30:00.250Z"},
            {"pending", 3},          {"app_version", "0.1.0"},
            {"responses", std::move(responses)}};
}

} // namespace

TEST_CASE("wire: a batch survives encode and decode unchanged", "[wire]") {
    const wire::Batch b = sampleBatch(25);
    const auto decoded = wire::decodeBatch(wire::encodeBatch(b));
    REQUIRE(decoded);
    CHECK(decoded->invalid.empty());
    CHECK(decoded->batch.protocol == 1);
    CHECK(decoded->batch.batchId == b.batchId);
    CHECK(decoded->batch.deviceId == b.deviceId);
    CHECK(decoded->batch.sentAtMs == b.sentAtMs);
    CHECK(decoded->batch.pending == 17);
    CHECK(decoded->batch.appVersion == "0.1.0");
    CHECK(decoded->batch.clockOffsetMs == std::optional<std::int64_t>(-1234));
    CHECK(decoded->batch.responses == b.responses);

    const json j = json::parse(wire::encodeBatch(b));
    for (const char* key : {"protocol", "batch_id", "device_id", "sent_at", "pending", "app_version", "clock_offset_ms", "responses"})
        CHECK(j.contains(key));
    CHECK(j["sent_at"] == "2026-11-18T11:08:43.456Z");

    wire::Batch noOffset = b;
    noOffset.clockOffsetMs.reset();
    CHECK_FALSE(json::parse(wire::encodeBatch(noOffset)).contains("clock_offset_ms"));
    CHECK_FALSE(wire::decodeBatch(wire::encodeBatch(noOffset))->batch.clockOffsetMs);
}

TEST_CASE("wire: the encoder writes byte for byte what the JSON tree dumps", "[wire]") {
    // The tree the encoder replaced, kept here as the reference it must match.
    auto tree = [](const wire::Batch& b) {
        json responses = json::array();
        for (const auto& r : b.responses) responses.push_back(core::toJson(r));
        json j = {{"protocol", b.protocol},     {"batch_id", b.batchId},
                  {"device_id", b.deviceId},    {"sent_at", core::formatUtc(b.sentAtMs)},
                  {"pending", b.pending},       {"app_version", b.appVersion},
                  {"responses", std::move(responses)}};
        if (b.clockOffsetMs) j["clock_offset_ms"] = *b.clockOffsetMs;
        return j.dump();
    };
    wire::Batch b = sampleBatch(40);
    CHECK(wire::encodeBatch(b) == tree(b));
    b.clockOffsetMs.reset();
    b.appVersion = "0.1.0 \"beta\" 测试";
    b.deviceId = "kiosk\\1";
    CHECK(wire::encodeBatch(b) == tree(b));
    b.responses.clear();
    b.clockOffsetMs = std::numeric_limits<std::int64_t>::min();
    CHECK(wire::encodeBatch(b) == tree(b));
}

TEST_CASE("wire: the ack is written byte for byte as the JSON tree dumps it, bad UTF-8 replaced", "[wire]") {
    auto tree = [](const wire::BatchAck& ack) {
        json rejected = json::array();
        for (const auto& r : ack.rejected) rejected.push_back({{"id", r.id}, {"reason", r.reason}});
        const json j = {{"accepted", ack.accepted},
                        {"duplicates", ack.duplicates},
                        {"rejected", std::move(rejected)},
                        {"server_time", core::formatUtc(ack.serverTimeMs)}};
        return j.dump(-1, ' ', false, json::error_handler_t::replace);
    };
    wire::BatchAck ack;
    ack.serverTimeMs = 1'795'000'123'456;
    CHECK(wire::encodeAck(ack) == tree(ack));
    ack.accepted = {"0190f1e2-3a4b-7c5d-8e6f-000000000001", "0190f1e2-3a4b-7c5d-8e6f-000000000002"};
    ack.duplicates = {"0190f1e2-3a4b-7c5d-8e6f-000000000003"};
    ack.rejected = {{"", "record is not an object"},
                    {"bad\xff\xfeid", "tag ids must be 1-64 of [A-Za-z0-9._-]: \"原因\"\n\x01"},
                    {"0190f1e2-3a4b-7c5d-8e6f-000000000004", "conflict"}};
    const std::string written = wire::encodeAck(ack);
    CHECK(written == tree(ack));
    CHECK(written.find("\xef\xbf\xbd") != std::string::npos);   // U+FFFD where the bad bytes were
    const auto back = wire::decodeAck(written);
    REQUIRE(back);
    CHECK(back->accepted == ack.accepted);
    CHECK(back->rejected[2] == ack.rejected[2]);
}

TEST_CASE("wire: invalid records are refused one by one and the valid ones still decode", "[wire]") {
    json stars9 = validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000002");
    stars9["stars"] = 9;
    json unknownKey = validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000003");
    unknownKey["segue"]["friendly"] = 4;
    json badUuid = validRecord("not-a-uuid");
    json badTime = validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000005");
    badTime["created_at"] = "22/11/2026 06:30";
    json wrongType = validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000006");
    wrongType["complete"] = "yes";
    const json body = envelope({validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000001"), stars9, unknownKey, badUuid,
                                badTime, wrongType, 42, validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000007")});

    const auto d = wire::decodeBatch(body.dump());
    REQUIRE(d);
    REQUIRE(d->batch.responses.size() == 2);
    CHECK(d->batch.responses[0].id == "0190f1e2-3a4b-7c5d-8e6f-000000000001");
    CHECK(d->batch.responses[1].id == "0190f1e2-3a4b-7c5d-8e6f-000000000007");
    REQUIRE(d->invalid.size() == 6);
    CHECK(d->invalid[0].rejection == wire::Rejected{"0190f1e2-3a4b-7c5d-8e6f-000000000002", "stars must be 1..5"});
    CHECK(d->invalid[1].rejection.id == "0190f1e2-3a4b-7c5d-8e6f-000000000003");
    CHECK_THAT(d->invalid[1].rejection.reason, Catch::Contains("friendly"));
    CHECK(d->invalid[2].rejection == wire::Rejected{"not-a-uuid", "id is not a UUID"});
    CHECK_THAT(d->invalid[3].rejection.reason, Catch::Contains("created_at"));
    CHECK_THAT(d->invalid[4].rejection.reason, Catch::Contains("complete"));
    CHECK(d->invalid[5].rejection.id.empty());
    CHECK(d->invalid[5].json == "42");
    // The refused record is kept as received.
    CHECK(json::parse(d->invalid[0].json) == stars9);
}

TEST_CASE("wire: unknown keys are ignored at every level", "[wire]") {
    json record = validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000001");
    record["future_field"] = {{"nested", true}};
    json body = envelope({record});
    body["compression_hint"] = "zstd";
    const auto d = wire::decodeBatch(body.dump());
    REQUIRE(d);
    CHECK(d->invalid.empty());
    CHECK(d->batch.responses.size() == 1);
}

TEST_CASE("wire: envelope errors refuse the whole body with the right kind", "[wire]") {
    auto kindOf = [](const std::string& body) {
        const auto d = wire::decodeBatch(body);
        REQUIRE_FALSE(d);
        CHECK_FALSE(d.error().message.empty());
        return d.error().kind;
    };
    const json ok = envelope(json::array());
    REQUIRE(wire::decodeBatch(ok.dump()));

    CHECK(kindOf("") == wire::DecodeError::Malformed);
    CHECK(kindOf("{\"protocol\": 1,") == wire::DecodeError::Malformed);
    CHECK(kindOf("[1,2,3]") == wire::DecodeError::Malformed);
    CHECK(kindOf(std::string(100'000, '[') + std::string(100'000, ']')) == wire::DecodeError::Malformed);
    // Invalid UTF-8 inside a string.
    json withDevice = ok;
    withDevice["device_id"] = "PLACEHOLDER";
    std::string bad = withDevice.dump();
    bad.replace(bad.find("PLACEHOLDER"), 11, "\xff\xfe");
    CHECK(kindOf(bad) == wire::DecodeError::Malformed);

    auto with = [&](const char* key, json value) {
        json j = ok;
        if (value.is_discarded()) j.erase(key);
        else j[key] = std::move(value);
        return j.dump();
    };
    const json missing(json::value_t::discarded);
    CHECK(kindOf(with("protocol", 2)) == wire::DecodeError::Protocol);
    CHECK(kindOf(with("protocol", 0)) == wire::DecodeError::Protocol);
    CHECK(kindOf(with("protocol", "1")) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("protocol", missing)) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("batch_id", "batch-7")) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("device_id", 7)) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("device_id", "")) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("sent_at", "yesterday")) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("pending", -1)) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("pending", "3")) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("pending", 3.5)) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("app_version", std::string(65, 'v'))) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("clock_offset_ms", "5")) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("responses", json::object())) == wire::DecodeError::Malformed);
    CHECK(kindOf(with("responses", missing)) == wire::DecodeError::Malformed);
}

TEST_CASE("wire: a batch of at most 1000 records decodes, 1001 is too large", "[wire]") {
    json records = json::array();
    core::UuidV7Generator ids(3);
    for (int i = 0; i < 1001; ++i) records.push_back(validRecord(ids.next(1'795'000'000'000 + i)));
    json thousand = records;
    thousand.erase(thousand.end() - 1);
    const auto ok = wire::decodeBatch(envelope(thousand).dump());
    REQUIRE(ok);
    CHECK(ok->batch.responses.size() == 1000);
    const auto over = wire::decodeBatch(envelope(records).dump());
    REQUIRE_FALSE(over);
    CHECK(over.error().kind == wire::DecodeError::TooLarge);
}

TEST_CASE("wire: acks round-trip and malformed acks are refused", "[wire]") {
    wire::BatchAck ack;
    ack.accepted = {"a", "b"};
    ack.duplicates = {"c"};
    ack.rejected = {{"d", "stars must be 1..5"}, {"", "record is not an object"}};
    ack.serverTimeMs = 1'795'000'000'250;
    const std::string text = wire::encodeAck(ack);
    const json j = json::parse(text);
    CHECK(j["server_time"] == "2026-11-18T11:06:40.250Z");
    CHECK(j["rejected"][0] == json{{"id", "d"}, {"reason", "stars must be 1..5"}});
    const auto back = wire::decodeAck(text);
    REQUIRE(back);
    CHECK(back->accepted == ack.accepted);
    CHECK(back->duplicates == ack.duplicates);
    CHECK(back->rejected == ack.rejected);
    CHECK(back->serverTimeMs == ack.serverTimeMs);

    CHECK_FALSE(wire::decodeAck("not json"));
    CHECK_FALSE(wire::decodeAck(R"({"accepted":[1],"duplicates":[],"rejected":[],"server_time":"2026-11-18T07:46:40Z"})"));
    CHECK_FALSE(wire::decodeAck(R"({"accepted":[],"duplicates":[],"rejected":[{"id":"x"}],"server_time":"2026-11-18T07:46:40Z"})"));
    CHECK_FALSE(wire::decodeAck(R"({"accepted":[],"duplicates":[],"rejected":[],"server_time":"soon"})"));
    CHECK_FALSE(wire::decodeAck(R"({"accepted":[],"rejected":[],"server_time":"2026-11-18T07:46:40Z"})"));
}

TEST_CASE("wire: gzip round-trips and gunzip refuses bombs, corruption and truncation", "[wire]") {
    const std::string body = wire::encodeBatch(sampleBatch(200));
    const auto packed = wire::gzip(body);
    REQUIRE(packed);
    CHECK(packed->size() < body.size() / 3);
    CHECK(static_cast<unsigned char>((*packed)[0]) == 0x1f);   // gzip magic
    CHECK(static_cast<unsigned char>((*packed)[1]) == 0x8b);
    const auto unpacked = wire::gunzip(*packed, wire::kMaxBodyBytes);
    REQUIRE(unpacked);
    CHECK(*unpacked == body);

    const auto bomb = wire::gzip(std::string(64 * 1024 * 1024, ' '));
    REQUIRE(bomb);
    CHECK(bomb->size() < 200'000);
    const auto refused = wire::gunzip(*bomb, wire::kMaxBodyBytes);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error(), Catch::Contains("exceeds"));

    std::string corrupt = *packed;
    corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
    CHECK_FALSE(wire::gunzip(corrupt, wire::kMaxBodyBytes));
    CHECK_FALSE(wire::gunzip(packed->substr(0, packed->size() / 2), wire::kMaxBodyBytes));
    CHECK_FALSE(wire::gunzip(*packed + "junk", wire::kMaxBodyBytes));
    CHECK_FALSE(wire::gunzip(body, wire::kMaxBodyBytes));
}

TEST_CASE("wire: CSV rows follow the export columns with RFC 4180 quoting", "[wire]") {
    CHECK(wire::csvHeader() ==
          "id,store_id,device_id,survey_id,survey_version,language,created_at,local_date,local_hour,utc_offset_min,"
          "stars,segue_satisfactory,segue_efficient,segue_genuine,segue_understanding,segue_effective,tags,complete,"
          "misuse,synthetic,duration_ms,callback_requested\r\n");
    CHECK(wire::csvHeader(true).ends_with(",duration_ms,callback_requested,received_at\r\n"));

    core::Response r = test::makeResponse("0190f1e2-3a4b-7c5d-8e6f-0123456789ab", "store-1", "kiosk-1",
                                          *core::parseUtc("2026-11-22T06:30:00.250Z"), 2);
    r.tags = {"wait_time", "attitude"};
    r.segue = {5, std::nullopt, 3, 1, 4};
    CHECK(wire::csvRow(r) ==
          "0190f1e2-3a4b-7c5d-8e6f-0123456789ab,store-1,kiosk-1,segue-default,1,zh-CN,2026-11-22T06:30:00.250Z,"
          "2026-11-22,14,480,2,5,,3,1,4,wait_time|attitude,true,false,false,6400,false\r\n");
    CHECK(wire::csvRow(r, 1'795'000'000'000).ends_with(",6400,false,2026-11-18T11:06:40.000Z\r\n"));
    r.callbackRequested = true;
    CHECK(wire::csvRow(r).ends_with(",6400,true\r\n"));
    r.callbackRequested = false;

    CHECK(wire::csvField("plain") == "plain");
    CHECK(wire::csvField("a,b") == "\"a,b\"");
    CHECK(wire::csvField("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(wire::csvField("two\nlines") == "\"two\nlines\"");
    CHECK(wire::csvField("") == "");
}

TEST_CASE("wire: CSV text cells that could start a formula are prefixed with ', numbers never", "[wire]") {
    CHECK(wire::csvTextField("=1+1") == "'=1+1");
    CHECK(wire::csvTextField("+1") == "'+1");
    CHECK(wire::csvTextField("-2") == "'-2");
    CHECK(wire::csvTextField("@SUM(A1)") == "'@SUM(A1)");
    CHECK(wire::csvTextField("\tx") == "'\tx");
    CHECK(wire::csvTextField("\rx") == "\"'\rx\"");               // CR: prefixed, then quoted
    CHECK(wire::csvTextField("=HYPERLINK(\"a\",\"b\")") == "\"'=HYPERLINK(\"\"a\"\",\"\"b\"\")\"");
    CHECK(wire::csvTextField("a=b") == "a=b");                       // only the first character counts
    CHECK(wire::csvTextField("store-1") == "store-1");
    CHECK(wire::csvTextField("") == "");

    // Every text cell of a row (ids, language, local date, tags), none of the numbers: a negative
    // UTC offset stays a number a spreadsheet can add up.
    core::Response r = test::makeResponse("0190f1e2-3a4b-7c5d-8e6f-0123456789ab", "store-1", "kiosk-1",
                                          *core::parseUtc("2026-11-22T06:30:00.250Z"), 2);
    r.id = "=1+1";
    r.storeId = "+store";
    r.deviceId = "-kiosk";
    r.surveyId = "@survey";
    r.language = "\ten";
    r.localDate = "\r2026-11-2";
    r.utcOffsetMin = -300;
    r.tags = {"-tag", "=x"};
    r.segue = {5, std::nullopt, 3, 1, 4};
    CHECK(wire::csvRow(r, 1'795'000'000'000) ==
          "'=1+1,'+store,'-kiosk,'@survey,1,'\ten,2026-11-22T06:30:00.250Z,\"'\r2026-11-2\",14,-300,2,5,,3,1,4,"
          "'-tag|=x,true,false,false,6400,false,2026-11-18T11:06:40.000Z\r\n");
}

namespace {

/// What decodeBatch's two paths make of `body`: the SAX reader (nullopt when it gave up) and
/// the tree. Whenever the reader accepts a body, the tree must read it the same way.
std::optional<wire::DecodedBatch> readersAgree(const std::string& body) {
    auto fast = wire::detail::readWellFormedBatch(body);
    const auto tree = wire::detail::decodeBatchWithTree(body);
    if (fast) {
        REQUIRE(tree);
        REQUIRE(tree->invalid.empty());
        REQUIRE(*fast == *tree);
    }
    const auto both = wire::decodeBatch(body);
    REQUIRE(both.has_value() == tree.has_value());
    if (tree) CHECK(*both == *tree);
    else CHECK(both.error().kind == tree.error().kind);
    return fast;
}

} // namespace

TEST_CASE("wire: a well-formed batch is read in one pass, exactly as the tree reads it", "[wire]") {
    const wire::Batch b = sampleBatch(30);
    const auto fast = readersAgree(wire::encodeBatch(b));
    REQUIRE(fast);
    CHECK(fast->batch == b);

    // Any key order, whitespace, unknown keys holding anything at every level, null offset.
    json record = validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000001");
    record["future"] = {{"nested", {1, 2.5, "three", nullptr, {{"deep", json::array()}}}}};
    record["future_flag"] = false;
    record["synthetic"] = true;
    record.erase("duration_ms");
    json body = envelope({record, validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000002")});
    body["compression_hint"] = {"zstd", 3, -1.5};
    body["clock_offset_ms"] = nullptr;
    body["big"] = 18446744073709551615ULL;
    const auto pretty = readersAgree(body.dump(2));
    REQUIRE(pretty);
    CHECK(pretty->batch.responses.size() == 2);
    CHECK(pretty->batch.responses[0].synthetic);
    CHECK_FALSE(pretty->batch.clockOffsetMs);
    // A writer that does not sort its keys: responses first, protocol last.
    const std::string reordered = "{\"responses\":" + body["responses"].dump() +
                                  ",\"sent_at\":\"2026-11-22T06:30:00.250Z\",\"pending\":3,\"device_id\":\"kiosk-1\""
                                  ",\"batch_id\":\"0190f1e2-3a4b-7c5d-8e6f-0123456789ab\",\"app_version\":\"0.1.0\""
                                  ",\"protocol\":1}";
    const auto unsorted = readersAgree(reordered);
    REQUIRE(unsorted);
    CHECK(unsorted->batch.responses == pretty->batch.responses);
}

TEST_CASE("wire: the one-pass reader gives up on anything unusual and the tree answers", "[wire]") {
    const json ok = envelope({validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000001")});
    const std::string good = ok.dump();
    REQUIRE(readersAgree(good));

    auto gaveUp = [](const std::string& body) { return !readersAgree(body).has_value(); };
    auto recordWith = [&](const char* key, json value) {
        json j = ok;
        j["responses"][0][key] = std::move(value);
        return j.dump();
    };
    // A key given twice: the tree keeps the last one, the reader leaves it to the tree.
    std::string twice = good;
    twice.insert(1, "\"pending\":99,");
    CHECK(gaveUp(twice));
    CHECK(wire::decodeBatch(twice)->batch.pending == 3);
    std::string twiceInRecord = good;
    twiceInRecord.insert(twiceInRecord.find("\"stars\""), "\"stars\":1,");
    CHECK(gaveUp(twiceInRecord));
    std::string twiceInSegue = good;
    twiceInSegue.insert(twiceInSegue.find("\"segue\":{") + 9, "\"genuine\":1,");
    CHECK(gaveUp(twiceInSegue));

    // Records core refuses, or types and ranges fromJson refuses.
    CHECK(gaveUp(recordWith("stars", 9)));
    CHECK(gaveUp(recordWith("stars", 4.0)));
    CHECK(gaveUp(recordWith("stars", 4294967297ULL)));
    CHECK(gaveUp(recordWith("synthetic", nullptr)));
    CHECK(gaveUp(recordWith("duration_ms", "5")));
    CHECK(gaveUp(recordWith("tags", {"slow", 3})));
    CHECK(gaveUp(recordWith("segue", {{"friendly", 4}})));
    json noStars = ok;
    noStars["responses"][0].erase("stars");
    CHECK(gaveUp(noStars.dump()));
    json notObject = ok;
    notObject["responses"].push_back(42);
    CHECK(gaveUp(notObject.dump()));

    // Envelope faults, nesting past the limit, more than 1000 records, broken JSON.
    json p2 = ok;
    p2["protocol"] = 2;
    CHECK(gaveUp(p2.dump()));
    json noVersion = ok;
    noVersion.erase("app_version");
    CHECK(gaveUp(noVersion.dump()));
    json deep = ok;
    json nest = json::array();
    for (int i = 0; i < 40; ++i) nest = json::array({nest});
    deep["unknown"] = nest;
    CHECK(gaveUp(deep.dump()));
    CHECK(wire::decodeBatch(deep.dump()).error().kind == wire::DecodeError::Malformed);
    json many = ok;
    core::UuidV7Generator ids(5);
    for (int i = 0; i < 1000; ++i) many["responses"].push_back(validRecord(ids.next(1'795'000'000'000 + i)));
    CHECK(gaveUp(many.dump()));
    CHECK(gaveUp(good.substr(0, good.size() - 1)));
    CHECK(gaveUp(good + " {}"));
}

TEST_CASE("wire: the simdjson reader stops where the tree path does: nesting, escapes, numbers", "[wire]") {
    const json ok = envelope({validRecord("0190f1e2-3a4b-7c5d-8e6f-000000000001")});
    auto withUnknown = [&](const std::string& valueText) {
        std::string body = ok.dump();
        body.insert(1, "\"future\":" + valueText + ",");
        return body;
    };
    auto nested = [](int levels) {
        return std::string(static_cast<std::size_t>(levels), '[') + std::string(static_cast<std::size_t>(levels), ']');
    };
    // The body's own object is one level: 31 more under an unknown key is the most the tree takes.
    REQUIRE(wire::detail::kMaxNesting == 32);
    CHECK(readersAgree(withUnknown(nested(30))));
    const std::string limit = withUnknown(nested(31));
    REQUIRE(wire::detail::decodeBatchWithTree(limit));
    readersAgree(limit);   // accepted or left to the tree: either way the same batch
    const std::string past = withUnknown(nested(32));
    CHECK_FALSE(readersAgree(past));
    CHECK(wire::decodeBatch(past).error().kind == wire::DecodeError::Malformed);

    // Any \u escape goes to the tree, which refuses a lone surrogate and reads a pair.
    std::string escaped = ok.dump();
    escaped.insert(escaped.find("\"kiosk-1\"") + 1, "\\u00e9");
    CHECK_FALSE(readersAgree(escaped));
    CHECK(wire::decodeBatch(escaped)->batch.deviceId == "\xc3\xa9kiosk-1");
    CHECK_FALSE(readersAgree(withUnknown("\"\\udc00\"")));
    CHECK_FALSE(wire::decodeBatch(withUnknown("\"\\udc00\"")));
    CHECK_FALSE(readersAgree(withUnknown("\"\\ud83d\\ude00\"")));
    CHECK(wire::decodeBatch(withUnknown("\"\\ud83d\\ude00\"")));
    // Other escapes are read by both alike.
    std::string slashes = ok.dump();
    slashes.insert(slashes.find("\"kiosk-1\"") + 1, "a\\/\\\\\\\"\\t");
    const auto readSlashes = readersAgree(slashes);
    REQUIRE(readSlashes);
    CHECK(readSlashes->batch.deviceId == "a/\\\"\tkiosk-1");

    // Numbers past int64, past uint64, -0, exponents: fine under an unknown key, a give-up
    // (and the tree's answer) where a count is expected.
    for (const char* number : {"18446744073709551616", "-9223372036854775809", "-0", "1e3", "1E400", "0.5"}) {
        INFO(number);
        readersAgree(withUnknown(number));
        std::string asPending = ok.dump();
        const auto at = asPending.find("\"pending\":3") + 10;
        asPending.replace(at, 1, number);
        readersAgree(asPending);
    }
    // Invalid UTF-8, a raw control character in a string, a byte-order mark, a NUL after the body.
    for (const std::string& bad : {withUnknown("\"\xff\""), withUnknown("\"a\tb\""), std::string("\xef\xbb\xbf") + ok.dump(),
                                   ok.dump() + std::string(1, '\0')}) {
        readersAgree(bad);
    }
    CHECK_FALSE(wire::decodeBatch(withUnknown("\"\xff\"")));
    CHECK_FALSE(wire::decodeBatch(withUnknown("\"a\tb\"")));
}

TEST_CASE("wire: batches decoded on many threads at once are each read whole", "[wire]") {
    // The reader's parsers are shared by HQ's request threads: more threads than it keeps
    // parsers, bodies small and past what a kept parser may hold, each result checked.
    const wire::Batch small = sampleBatch(5);
    wire::Batch large = sampleBatch(1000);
    for (auto& r : large.responses) {   // 16 tags of 64 characters: the most a record may have
        r.tags.clear();
        for (char c = 'a'; c < 'a' + 16; ++c) r.tags.push_back(std::string(64, c));
    }
    const std::string smallBody = wire::encodeBatch(small), largeBody = wire::encodeBatch(large);
    REQUIRE(largeBody.size() > 1024 * 1024);
    std::atomic<int> wrong{0}, read{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 24; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 3; ++i) {
                const bool big = (t + i) % 3 == 0;
                const auto fast = wire::detail::readWellFormedBatch(big ? largeBody : smallBody);
                if (!fast || fast->batch != (big ? large : small)) ++wrong;
                ++read;
            }
        });
    for (auto& thread : threads) thread.join();
    CHECK(read == 72);
    CHECK(wrong == 0);
}

TEST_CASE("wire: wherever a byte of a batch changes, the two readers never disagree", "[wire]") {
    // Differential check over thousands of damaged bodies: each is read by both paths, and
    // whatever the reader accepts the tree must read identically.
    const std::string good = wire::encodeBatch(sampleBatch(3));
    std::mt19937 rng(522);
    const std::string alphabet = "{}[]\",:0123456789-.eE tfnrul\\ab";
    int accepted = 0;
    for (int n = 0; n < 3000; ++n) {
        std::string body = good;
        for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
            const std::size_t at = rng() % body.size();
            switch (rng() % 3) {
            case 0: body[at] = alphabet[rng() % alphabet.size()]; break;
            case 1: body.erase(at, 1 + rng() % 4); break;
            default: body.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
            }
            if (body.empty()) body = "{";
        }
        if (readersAgree(body)) ++accepted;
    }
    CHECK(accepted > 0);   // some edits leave a valid batch (a digit of a count, say)
}
