#include "hq/sql_response.hpp"

#include <nlohmann/json.hpp>

namespace segue::hq {

const std::vector<SqlColumn>& responseColumns() {
    static const std::vector<SqlColumn> columns = {
        {"id", SqlType::Uuid},
        {"store_id", SqlType::Text},
        {"device_id", SqlType::Text},
        {"survey_id", SqlType::Text},
        {"survey_version", SqlType::Integer},
        {"language", SqlType::Text},
        {"created_at", SqlType::BigInt},
        {"local_date", SqlType::Text},
        {"local_hour", SqlType::SmallInt},
        {"utc_offset_min", SqlType::SmallInt},
        {"stars", SqlType::SmallInt},
        {"segue_satisfactory", SqlType::SmallInt},
        {"segue_efficient", SqlType::SmallInt},
        {"segue_genuine", SqlType::SmallInt},
        {"segue_understanding", SqlType::SmallInt},
        {"segue_effective", SqlType::SmallInt},
        {"tags", SqlType::Json},
        {"complete", SqlType::Boolean},
        {"misuse", SqlType::Boolean},
        {"synthetic", SqlType::Boolean},
        {"duration_ms", SqlType::BigInt},
    };
    return columns;
}

const std::vector<SqlColumn>& responseBatchColumns() {
    static const std::vector<SqlColumn> columns = {{"received_at", SqlType::BigInt}, {"batch_id", SqlType::Uuid}};
    return columns;
}

const std::string& responseSelectList() {
    static const std::string list = [] {
        std::string out;
        for (const auto& c : responseColumns()) out += std::string(c.name) + ", ";
        return out + "received_at";
    }();
    return list;
}

SqlParams responseValues(const core::Response& r) {
    SqlParams v;
    v.reserve(responseColumns().size());
    v.emplace_back(r.id);
    v.emplace_back(r.storeId);
    v.emplace_back(r.deviceId);
    v.emplace_back(r.surveyId);
    v.emplace_back(std::int64_t{r.surveyVersion});
    v.emplace_back(r.language);
    v.emplace_back(r.createdAtMs);
    v.emplace_back(r.localDate);
    v.emplace_back(std::int64_t{r.localHour});
    v.emplace_back(std::int64_t{r.utcOffsetMin});
    v.emplace_back(std::int64_t{r.stars});
    for (const auto& s : r.segue) {
        if (s) v.emplace_back(std::int64_t{*s});
        else v.emplace_back();
    }
    v.emplace_back(nlohmann::json(r.tags).dump());
    v.emplace_back(r.complete);
    v.emplace_back(r.misuse);
    v.emplace_back(r.synthetic);
    v.emplace_back(r.durationMs);
    return v;
}

std::optional<StoredResponse> readResponse(const SqlRows& s) {
    StoredResponse out;
    core::Response& r = out.response;
    r.id = s.text(0);
    r.storeId = s.text(1);
    r.deviceId = s.text(2);
    r.surveyId = s.text(3);
    r.surveyVersion = static_cast<int>(s.integer(4));
    r.language = s.text(5);
    r.createdAtMs = s.integer(6);
    r.localDate = s.text(7);
    r.localHour = static_cast<int>(s.integer(8));
    r.utcOffsetMin = static_cast<int>(s.integer(9));
    r.stars = static_cast<int>(s.integer(10));
    for (int i = 0; i < core::kSegueCount; ++i)
        if (!s.isNull(11 + i)) r.segue[static_cast<std::size_t>(i)] = static_cast<int>(s.integer(11 + i));
    const auto tags = nlohmann::json::parse(s.text(16), nullptr, false);
    if (!tags.is_array()) return std::nullopt;
    for (const auto& t : tags) {
        if (!t.is_string()) return std::nullopt;
        r.tags.push_back(t.get<std::string>());
    }
    r.complete = s.flag(17);
    r.misuse = s.flag(18);
    r.synthetic = s.flag(19);
    r.durationMs = s.integer(20);
    out.receivedAtMs = s.integer(21);
    return out;
}

} // namespace segue::hq
