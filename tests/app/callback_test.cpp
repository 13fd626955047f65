// Issue 17 on the terminal: a callback typed on the real screens through the real controller
// into a real SQLite file. The number is sealed with HQ's public key before the commit and is
// never on disk in clear (the database file, its WAL and the export are scanned byte by byte);
// after HQ's ack the sealed copy is deleted and the WAL cut, so it is gone from disk too.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "app/contact_seal.hpp"
#include "app/keys.hpp"
#include "core/time.hpp"
#include "store/database.hpp"
#include "store/config_store.hpp"
#include "store/meta.hpp"
#include "store/outbox.hpp"
#include "sync/drainer.hpp"
#include "sync/wire.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

/// HQ's key pair, made here as `segue-hq keys init` would.
struct HqKeys {
    std::array<unsigned char, crypto_box_PUBLICKEYBYTES> pk{};
    std::array<unsigned char, crypto_box_SECRETKEYBYTES> sk{};
    std::string pkBase64;
    HqKeys() {
        REQUIRE(sodium_init() >= 0);
        crypto_box_keypair(pk.data(), sk.data());
        std::string b64(sodium_base64_ENCODED_LEN(pk.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
        sodium_bin2base64(b64.data(), b64.size(), pk.data(), pk.size(), sodium_base64_VARIANT_ORIGINAL);
        b64.resize(b64.size() - 1);
        pkBase64 = b64;
    }
    std::string rawSealed(const std::string& base64) const {
        std::string bin(base64.size(), '\0');
        std::size_t len = 0;
        REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), base64.data(), base64.size(),
                                  nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0);
        bin.resize(len);
        return bin;
    }
    /// What HQ does with the contact: open the seal.
    std::string open(const std::string& base64) const {
        const std::string sealed = rawSealed(base64);
        REQUIRE(sealed.size() > crypto_box_SEALBYTES);
        std::string plain(sealed.size() - crypto_box_SEALBYTES, '\0');
        REQUIRE(crypto_box_seal_open(reinterpret_cast<unsigned char*>(plain.data()),
                                     reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(), pk.data(),
                                     sk.data()) == 0);
        return plain;
    }
};

std::string fileBytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return {};
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// Where `digits` shows in `bytes`, in any form a leak could take: as typed, grouped as the
/// screen shows it, as UTF-16, or any 7-digit run of it. Empty when nowhere.
std::string leakIn(const std::string& bytes, const std::string& digits) {
    std::vector<std::string> forms = {digits, groupDigits(digits)};
    std::string utf16;
    for (const char c : digits) {
        utf16 += c;
        utf16 += '\0';
    }
    forms.push_back(utf16);
    for (std::size_t i = 0; i + 7 <= digits.size(); ++i) forms.push_back(digits.substr(i, 7));
    for (const auto& f : forms)
        if (bytes.find(f) != std::string::npos) return f;
    return {};
}

/// The real `segue-kiosk export`, its standard output captured.
std::string exportOutput(const std::filesystem::path& dir, const std::string& format) {
    const std::string command = std::string("'") + SEGUE_KIOSK_BIN + "' export --data-dir '" + dir.string() +
                                "' --format " + format + " 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    std::array<char, 4096> buf{};
    for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;) out.append(buf.data(), n);
    REQUIRE(::pclose(pipe) == 0);
    return out;
}

/// Stars, five answers and a reason tapped, then Done: the offer shows.
void rateLow(Kiosk& k) {
    k.choose("star1");
    for (int i = 0; i < 5; ++i) k.choose("option1");
    REQUIRE(k.current() == cs::Screen::Reasons);
    k.tap("tag0");
    k.tap("done");
}

/// Answers one batch with a recorded ack: every record accepted, `open` open callbacks.
class RecordedHq final : public sync::Transport {
public:
    explicit RecordedHq(std::int64_t open) : m_open(open) {}
    std::expected<wire::BatchAck, sync::SendFailure> post(const wire::Batch& batch) override {
        bodies.push_back(wire::encodeBatch(batch));
        std::string ids;
        for (const auto& r : batch.responses) ids += (ids.empty() ? "\"" : ",\"") + r.id + "\"";
        const std::string recorded = "{\"accepted\":[" + ids + "],\"duplicates\":[],\"open_callbacks\":" +
                                     std::to_string(m_open) + ",\"rejected\":[],\"server_time\":\"2026-12-06T06:00:00.000Z\"}";
        auto ack = wire::decodeAck(recorded);
        REQUIRE(ack.has_value());
        return *ack;
    }
    std::vector<std::string> bodies;

private:
    std::int64_t m_open;
};

} // namespace

TEST_CASE("a callback tapped on the real screens is sealed before the commit; the number is nowhere on disk",
          "[app][callback]") {
    const HqKeys hq;
    TempDir dir;
    Kiosk k(dir.path(), 1280, 800, "en");
    k.controller().setContactKey(hq.pkBase64);
    REQUIRE(k.controller().flow().callbackKey);

    rateLow(k);
    REQUIRE(k.current() == cs::Screen::CallbackOffer);
    k.tap("yes");
    REQUIRE(k.current() == cs::Screen::CallbackNumber);
    const std::string number = "13912345678";
    for (const char c : number + "9") k.tap(std::string("digit") + c);
    k.tap("delete");
    CHECK(k.controller().viewModel(k.clock().now()).callback.digits == number);
    CHECK(k.rows().empty());
    k.tap("confirm");
    REQUIRE(k.current() == cs::Screen::ThankYou);

    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].callbackRequested);
    CHECK(rows[0].stars == 1);
    auto* db = k.controller().database();
    REQUIRE(db != nullptr);
    const auto sealed = store::sealedContacts(*db, rows);
    REQUIRE(sealed.has_value());
    REQUIRE(sealed->size() == 1);
    const std::string& contact = sealed->at(rows[0].id);
    CHECK(hq.rawSealed(contact).size() == crypto_box_SEALBYTES + number.size());   // 48 + digits
    CHECK(hq.open(contact) == number);                                            // HQ can open it

    // The raw bytes: the database file, its WAL (the commit is there, not yet checkpointed) and
    // the shared-memory index, then both export formats.
    const auto file = k.config().databasePath();
    const std::string main = fileBytes(file), wal = fileBytes(file.string() + "-wal");
    REQUIRE(main.size() > 0);
    REQUIRE(wal.size() > 0);
    CHECK(wal.find(contact) != std::string::npos);   // the scan does see what the WAL holds
    CHECK(leakIn(main, number).empty());
    CHECK(leakIn(wal, number).empty());
    CHECK(leakIn(fileBytes(file.string() + "-shm"), number).empty());
    for (const std::string format : {"jsonl", "csv"}) {
        INFO(format);
        const std::string out = exportOutput(dir.path(), format);
        CHECK(out.find("callback_requested") != std::string::npos);
        CHECK(out.find(contact) == std::string::npos);
        CHECK(out.find("callback_contact") == std::string::npos);
        CHECK(leakIn(out, number).empty());
    }
    const auto line = nlohmann::json::parse(exportOutput(dir.path(), "jsonl"));
    CHECK(line.at("callback_requested") == true);

    // The checkpoint between customers moves it into the file: still sealed only.
    k.wait(3000);
    k.wait(KioskController::kCheckpointIdleMs + 100);
    CHECK(leakIn(fileBytes(file), number).empty());
    CHECK(fileBytes(file).find(contact) != std::string::npos);
}

TEST_CASE("after HQ's ack the sealed contact is deleted from the file and the WAL; open_callbacks is kept",
          "[app][callback]") {
    const HqKeys hq;
    TempDir dir;
    Kiosk k(dir.path());
    k.controller().setContactKey(hq.pkBase64);
    rateLow(k);
    // Keys, as a keypad sends them: 1 = yes, digits, BackSpace, Return.
    auto press = [&](platform::KeyKind kind, int digit = 0) { k.key(platform::KeyPress{kind, digit}); };
    press(platform::KeyKind::Digit, 1);
    REQUIRE(k.current() == cs::Screen::CallbackNumber);
    const std::string number = "18612345670";
    for (const char c : number) press(platform::KeyKind::Digit, c - '0');
    press(platform::KeyKind::Digit, 5);
    press(platform::KeyKind::Backspace);
    press(platform::KeyKind::Enter);
    REQUIRE(k.current() == cs::Screen::ThankYou);
    // A second customer says no thanks: no contact for that one.
    k.wait(3000);
    rateLow(k);
    press(platform::KeyKind::Digit, 2);
    REQUIRE(k.current() == cs::Screen::ThankYou);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].callbackRequested);
    CHECK_FALSE(rows[1].callbackRequested);

    auto* uiDb = k.controller().database();
    const auto before = store::sealedContacts(*uiDb, rows);
    REQUIRE(before.has_value());
    REQUIRE(before->size() == 1);
    const std::string contact = before->at(rows[0].id);
    const std::string raw = hq.rawSealed(contact);
    CHECK(hq.open(contact) == number);

    // The sync worker's own connection drains to HQ, which acks with a recorded reply.
    const auto file = k.config().databasePath();
    auto workerDb = store::Database::open(file);
    REQUIRE(workerDb.has_value());
    RecordedHq transport(4);
    cs::FakeClock clock(*cs::parseUtc("2026-12-06T06:00:00Z"), 480);
    sync::DrainSettings settings;
    settings.deviceId = k.config().deviceId;
    settings.pipelined = false;
    sync::Drainer drainer(*workerDb, transport, clock, settings);
    REQUIRE(drainer.loadSaved().has_value());
    const auto report = drainer.step();
    REQUIRE(report.has_value());
    REQUIRE(report->kind == sync::StepReport::Kind::Sent);
    CHECK(report->ack.synced == 2);
    CHECK(report->contactsErased == 1);
    CHECK(report->walTruncated);

    // What travelled: the record with its contact, the other without.
    REQUIRE(transport.bodies.size() == 1);
    const auto body = nlohmann::json::parse(transport.bodies[0]);
    const auto& records = body.at("responses");
    REQUIRE(records.size() == 2);
    CHECK(records[0].at("callback_contact") == contact);
    CHECK(records[0].at("callback_requested") == true);
    CHECK_FALSE(records[1].contains("callback_contact"));
    CHECK(records[1].at("callback_requested") == false);
    CHECK(leakIn(transport.bodies[0], number).empty());

    // Gone: no row, and neither the text nor the sealed bytes in the file or the WAL.
    const auto after = store::sealedContacts(*workerDb, rows);
    REQUIRE(after.has_value());
    CHECK(after->empty());
    const std::string main = fileBytes(file), wal = fileBytes(file.string() + "-wal");
    // Cut to zero bytes by the checkpoint; what was written after it (the open count) holds no contact.
    CHECK(wal.size() < 64 * 1024);
    CHECK(wal.find(contact) == std::string::npos);
    CHECK(wal.find(raw) == std::string::npos);
    CHECK(wal.find(contact.substr(0, 16)) == std::string::npos);
    CHECK(main.find(contact) == std::string::npos);
    CHECK(main.find(raw) == std::string::npos);
    CHECK(main.find(contact.substr(0, 16)) == std::string::npos);
    CHECK(leakIn(main, number).empty());
    // The response stays, and says a callback was asked for.
    const auto kept = k.rows();
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].callbackRequested);

    const auto open = store::getMeta(*workerDb, store::kMetaOpenCallbacks);
    REQUIRE(open.has_value());
    CHECK(*open == std::optional<std::string>("4"));
}

TEST_CASE("without HQ's key the offer never shows, and a bad key is no key", "[app][callback]") {
    TempDir dir;
    Kiosk k(dir.path());
    CHECK_FALSE(k.controller().hasContactKey());
    rateLow(k);
    CHECK(k.current() == cs::Screen::ThankYou);
    REQUIRE(k.rows().size() == 1);
    CHECK_FALSE(k.rows()[0].callbackRequested);
    k.controller().setContactKey(std::string("not a key"));
    CHECK_FALSE(k.controller().hasContactKey());
    CHECK_FALSE(k.controller().flow().callbackKey);
}

TEST_CASE("the key HQ's config brought, kept in the database, turns the offer on at start", "[app][callback]") {
    const HqKeys hq;
    TempDir dir;
    {
        Kiosk first(dir.path());
        REQUIRE(first.controller().database() != nullptr);
        REQUIRE(store::updateSurveyConfig(*first.controller().database(), [&](store::SurveyConfigState& s) {
                    s.contactPublicKey = hq.pkBase64;
                }).has_value());
    }
    Kiosk k(dir.path());
    CHECK(k.controller().hasContactKey());
    rateLow(k);
    CHECK(k.current() == cs::Screen::CallbackOffer);
    k.tap("no");
    REQUIRE(k.rows().size() == 1);
    CHECK_FALSE(k.rows()[0].callbackRequested);
}

TEST_CASE("BackSpace deletes on the number screen and still means Back elsewhere", "[app][callback][keys]") {
    const platform::KeyPress backspace{platform::KeyKind::Backspace, 0};
    CHECK(intentForKey(backspace, cs::Screen::CallbackNumber).kind == cs::Intent::Kind::PinDelete);
    CHECK(intentForKey(backspace, cs::Screen::Item).kind == cs::Intent::Kind::Back);
    CHECK(intentForKey({platform::KeyKind::Escape, 0}, cs::Screen::CallbackNumber).kind == cs::Intent::Kind::Back);
    CHECK(intentForKey({platform::KeyKind::Enter, 0}, cs::Screen::CallbackNumber).kind == cs::Intent::Kind::Submit);
    CHECK(groupDigits("13800138000") == "138 0013 8000");
    CHECK(groupDigits("123456789012345") == "123 4567 8901 2345");
    CHECK(groupDigits("12") == "12");
}
