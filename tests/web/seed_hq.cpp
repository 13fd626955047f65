// Fills an HQ database with a realistic chain for the dashboard's browser tests: several stores
// of different quality, their terminals' batches over the last weeks (through Storage::ingest,
// the path every batch takes), one terminal gone silent and one with a skewed clock.
// With --contact-pub FILE (HQ's contact.pub) a share of the last days' 1–2 star ratings ask for a
// callback with a synthetic number sealed as a terminal seals it, and some of those cases are
// moved on (contacted, resolved with a root cause, unreachable) by "seed@example.com".
//   usage: segue_hq_seed --db URL [--days N] [--utc-offset-min M] [--seed S] [--contact-pub FILE]
// Prints {"stores":[…],"devices":[{"id","store","name","token"}],"silent":[ids],"skewed":[ids],
// "callbacks":[{"response_id","store","phone"}]}.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/response.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "hq/cases.hpp"
#include "hq/contact_key.hpp"
#include "hq/enrolment.hpp"
#include "hq/storage.hpp"
#include "core/system_clock.hpp"

using namespace segue;

namespace {

struct StorePlan {
    std::string id;
    double satisfied;      ///< chance of a 4–5 star rating
    int perDay;            ///< mean responses a day
    std::vector<std::string> devices;
};

struct DevicePlan {
    std::string id, store, name;
    std::int64_t lastBatchMs = 0;             ///< batches stop here (silent terminals)
    std::optional<std::int64_t> clockOffsetMs;
    std::int64_t pending = 0;
    std::vector<core::Response> records;
};

int fail(const std::string& message) {
    std::cerr << "segue_hq_seed: " << message << "\n";
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    std::string db;
    int days = 35;
    int offsetMin = 480;
    std::uint64_t seed = 20261122;
    std::string contactPub;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--db") db = v;
        else if (a == "--contact-pub") contactPub = v;
        else if (a == "--days") days = std::atoi(v.c_str());
        else if (a == "--utc-offset-min") offsetMin = std::atoi(v.c_str());
        else if (a == "--seed") seed = std::strtoull(v.c_str(), nullptr, 10);
        else return fail("unknown option " + a);
    }
    if (db.empty() || days < 2 || days > 400) return fail("usage: segue_hq_seed --db URL [--days N] [--utc-offset-min M]");
    auto storage = hq::openStorage(db);
    if (!storage) return fail(storage.error().message);

    const std::int64_t now = core::SystemClock().now().utcMs;
    constexpr std::int64_t kHour = 3'600'000, kDay = 24 * kHour;
    std::vector<StorePlan> stores = {
        {"bj-chaoyang", 0.95, 34, {}},
        {"sh-pudong", 0.91, 40, {}},
        {"gz-tianhe", 0.84, 28, {}},
        {"sz-nanshan", 0.93, 22, {}},
        {"cd-jinjiang", 0.78, 18, {}},
        {"hz-xihu", 0.90, 14, {}},
    };
    std::vector<DevicePlan> devices;
    nlohmann::json out = {{"stores", nlohmann::json::array()}, {"devices", nlohmann::json::array()},
                          {"silent", nlohmann::json::array()}, {"skewed", nlohmann::json::array()},
                          {"callbacks", nlohmann::json::array()}};
    std::optional<std::string> publicKey;
    if (!contactPub.empty()) {
        std::ifstream in(contactPub);
        std::string line;
        if (!std::getline(in, line)) return fail("cannot read " + contactPub);
        publicKey = hq::fromBase64(line);
        if (!publicKey || publicKey->size() != crypto_box_PUBLICKEYBYTES || sodium_init() < 0)
            return fail(contactPub + " is not a contact public key");
    }
    // Callback numbers use their own random stream: the ratings are the same with or without them.
    std::mt19937_64 callbackRng(seed + 1);
    std::map<std::string, std::string> sealedById;
    for (auto& s : stores) {
        out["stores"].push_back(s.id);
        const int n = s.perDay >= 30 ? 3 : 2;
        for (int k = 1; k <= n; ++k) {
            const std::string id = s.id + "-k" + std::to_string(k);
            const std::string name = (k == 1 ? "Entrance " : k == 2 ? "Counter " : "Exit ") + std::to_string(k);
            auto e = hq::enrolDevice(**storage, s.id, name, id, now - (days + 5) * kDay);
            if (!e) return fail(e.error().message);
            s.devices.push_back(id);
            DevicePlan d{id, s.id, name, now - 3 * 60'000, std::nullopt, 0, {}};
            out["devices"].push_back({{"id", id}, {"store", s.id}, {"name", name}, {"token", e->token}});
            devices.push_back(std::move(d));
        }
    }
    auto device = [&](const std::string& id) -> DevicePlan& {
        return *std::find_if(devices.begin(), devices.end(), [&](const DevicePlan& d) { return d.id == id; });
    };
    // Problems a regional manager should see: a terminal silent for 30 h with a backlog it could
    // not send, and one whose clock runs four minutes fast.
    device("gz-tianhe-k2").lastBatchMs = now - 30 * kHour;
    device("gz-tianhe-k2").pending = 17;
    out["silent"].push_back("gz-tianhe-k2");
    device("sh-pudong-k3").clockOffsetMs = 4 * 60'000 + 12'000;
    out["skewed"].push_back("sh-pudong-k3");
    device("bj-chaoyang-k1").clockOffsetMs = 800;
    device("sz-nanshan-k1").clockOffsetMs = -1'500;

    std::mt19937_64 rng(seed);
    core::UuidV7Generator ids(seed);
    auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
    auto chance = [&](double p) { return uniform(0, 1) < p; };
    const std::vector<std::string> reasons = {"wait_time", "attitude", "not_solved", "unclear", "environment", "price"};
    // Visits peak late morning and early evening.
    const std::vector<double> hourWeight = {0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 7, 9, 8, 6, 5, 5, 6, 8, 9, 7, 4, 2, 0, 0};
    std::discrete_distribution<int> hourOf(hourWeight.begin(), hourWeight.end());

    const std::string today = core::localDate(now, offsetMin);
    for (const auto& s : stores) {
        // The store's level drifts a little over the weeks, so the trend lines move.
        for (int back = days - 1; back >= 0; --back) {
            const std::string date = core::addDays(today, -back);
            const std::int64_t dayStartUtc = *core::daysFromIsoDate(date) * kDay - static_cast<std::int64_t>(offsetMin) * 60'000;
            const double drift = 0.04 * std::sin(back / 5.0 + static_cast<double>(s.id.size()));
            const double weekend = (*core::daysFromIsoDate(date) + 4) % 7 >= 5 ? 1.35 : 1.0;
            const int n = std::poisson_distribution<int>(s.perDay * weekend)(rng);
            for (int i = 0; i < n; ++i) {
                const int hour = hourOf(rng);
                const std::int64_t at = dayStartUtc + hour * kHour + static_cast<std::int64_t>(uniform(0, kHour - 1));
                if (at > now - 60'000) continue;
                DevicePlan& d = device(s.devices[static_cast<std::size_t>(i) % s.devices.size()]);
                if (at > d.lastBatchMs) continue;
                core::Response r;
                r.id = ids.next(at);
                r.storeId = s.id;
                r.deviceId = d.id;
                r.surveyId = "segue-default";
                r.language = chance(0.8) ? "zh-CN" : "en";
                r.createdAtMs = at;
                r.utcOffsetMin = offsetMin;
                r.localDate = core::localDate(at, offsetMin);
                r.localHour = core::localHour(at, offsetMin);
                const bool satisfied = chance(std::clamp(s.satisfied + drift, 0.3, 0.995));
                r.stars = satisfied ? (chance(0.62) ? 5 : 4) : (chance(0.45) ? 3 : chance(0.55) ? 2 : 1);
                for (std::size_t k = 0; k < r.segue.size(); ++k) {
                    if (chance(0.07)) continue;
                    const int v = r.stars + static_cast<int>(std::lround(uniform(-1.2, 0.9))) - (k == 1 && s.id == "gz-tianhe");
                    r.segue[k] = std::clamp(v, 1, 5);
                }
                if (r.stars <= 3) {
                    const int first = static_cast<int>(std::lround(uniform(0, 5)));
                    // Each store has its typical complaint: the first tag leans to it.
                    const int typical = static_cast<int>(s.id.size() % reasons.size());
                    r.tags.push_back(reasons[static_cast<std::size_t>(chance(0.5) ? typical : first)]);
                    if (chance(0.35)) {
                        const auto& extra = reasons[static_cast<std::size_t>((first + 2) % 6)];
                        if (extra != r.tags.front()) r.tags.push_back(extra);
                    }
                }
                r.complete = !chance(0.08);
                r.misuse = chance(0.02);
                r.durationMs = static_cast<std::int64_t>(uniform(4'000, 40'000));
                if (auto why = core::validate(r)) return fail("generated an invalid record: " + *why);
                if (publicKey && r.stars <= 2 && back <= 3 &&
                    std::uniform_real_distribution<double>(0, 1)(callbackRng) < 0.35) {
                    const std::string phone =
                        "139" + std::to_string(10'000'000 + std::uniform_int_distribution<int>(0, 89'999'999)(callbackRng));
                    std::string sealed(phone.size() + crypto_box_SEALBYTES, '\0');
                    crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                                    reinterpret_cast<const unsigned char*>(phone.data()), phone.size(),
                                    reinterpret_cast<const unsigned char*>(publicKey->data()));
                    r.callbackRequested = true;
                    sealedById[r.id] = hq::toBase64(sealed);
                    out["callbacks"].push_back({{"response_id", r.id}, {"store", s.id}, {"phone", phone}});
                }
                d.records.push_back(std::move(r));
            }
        }
    }

    // Each terminal sends its responses in daily batches; the last one sets what the fleet shows.
    for (auto& d : devices) {
        std::map<std::string, std::vector<core::Response>> byDate;
        for (auto& r : d.records) byDate[r.localDate].push_back(std::move(r));
        for (auto& [date, records] : byDate) {
            const bool last = &records == &byDate.rbegin()->second;
            hq::IngestRequest req;
            req.deviceId = d.id;
            req.batchId = ids.next(records.back().createdAtMs);
            req.receivedAtMs = last ? d.lastBatchMs : std::min(d.lastBatchMs, records.back().createdAtMs + 2 * 60'000);
            req.pending = last ? d.pending : 0;
            req.appVersion = d.id == "hz-xihu-k2" ? "0.0.9" : "0.1.0";
            req.clockOffsetMs = d.clockOffsetMs;
            req.records = std::move(records);
            for (const auto& rec : req.records)
                if (const auto it = sealedById.find(rec.id); it != sealedById.end()) req.callbackContacts.emplace(rec.id, it->second);
            // A terminal that ran an old build sent a few records HQ refused.
            if (d.id == "cd-jinjiang-k1" && date == byDate.begin()->first)
                req.refused.push_back({"", "stars must be 1..5", R"({"stars":0})"});
            auto r = (*storage)->ingest(req);
            if (!r) return fail(r.error().message);
        }
    }
    // Some cases were handled: the oldest contacted, some of those resolved, one unreachable.
    if (publicKey) {
        auto all = (*storage)->cases().listCases(hq::CaseFilter{});
        if (!all) return fail(all.error().message);
        std::sort(all->begin(), all->end(), [](const hq::Case& a, const hq::Case& b) { return a.createdAtMs < b.createdAtMs; });
        const std::vector<std::string> causes = {"wait_time", "staff_attitude", "wait_time", "not_solved", "price", "wait_time"};
        for (std::size_t i = 0; i < all->size() && i < 12; ++i) {
            const hq::Case& c = (*all)[i];
            const std::int64_t firstMove = c.createdAtMs + (i % 4 == 3 ? 30 : 2 + static_cast<std::int64_t>(i)) * kHour;
            if (firstMove >= now) continue;
            const bool unreachable = i == 5;
            if (!(*storage)->cases().moveCase(c.id, {firstMove, "seed@example.com", "open", unreachable ? "unreachable" : "contacted",
                                                      unreachable ? "no answer, three tries" : "called back", std::nullopt}))
                return fail("moving a case");
            if (!unreachable && i % 2 == 0 && firstMove + kHour < now)
                if (!(*storage)->cases().moveCase(c.id, {firstMove + kHour, "seed@example.com", "contacted", "resolved",
                                                          "apologised and fixed", causes[i % causes.size()]}))
                    return fail("resolving a case");
        }
    }
    std::cout << out.dump() << "\n";
    return 0;
}
