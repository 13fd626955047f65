// core::Args, the command-line parser segue-kiosk uses (and segue-hq's verbs can): value and flag
// forms, positionals among options, and the exact error wording both programs print.
#include <catch2/catch.hpp>

#include "core/args.hpp"

using segue::core::Args;
using segue::core::ArgSpec;

namespace {
const ArgSpec kSpec{{"data-dir", "date", "count"}, {"json", "once"}};

std::vector<std::string> words(std::initializer_list<const char*> w) { return {w.begin(), w.end()}; }
} // namespace

TEST_CASE("args: values in both forms, flags and positionals in any order") {
    const auto a = Args::parse(words({"stats", "--date", "2026-01-02", "--json", "extra", "--data-dir=/tmp/x=y"}), 0, kSpec);
    REQUIRE(a);
    CHECK(a->positionals() == words({"stats", "extra"}));
    CHECK(a->value("date") == "2026-01-02");
    CHECK(a->value("data-dir") == "/tmp/x=y");   // only the first '=' splits
    CHECK(a->flag("json"));
    CHECK_FALSE(a->flag("once"));
    CHECK_FALSE(a->value("count"));
}

TEST_CASE("args: parsing starts at `first`; a later value replaces an earlier one") {
    const auto a = Args::parse(words({"device", "add", "--count", "1", "--count=2", "name"}), 2, kSpec);
    REQUIRE(a);
    CHECK(a->positionals() == words({"name"}));
    CHECK(a->value("count") == "2");
}

TEST_CASE("args: an empty value is a value; required() refuses it") {
    const auto a = Args::parse(words({"--date=", "--count", ""}), 0, kSpec);
    REQUIRE(a);
    CHECK(a->value("date") == "");
    REQUIRE_FALSE(a->required("date"));
    CHECK(a->required("date").error().message == "--date is required");
    CHECK(a->required("data-dir").error().message == "--data-dir is required");
    const auto b = Args::parse(words({"--count", "7"}), 0, kSpec);
    REQUIRE(b);
    CHECK(b->required("count") == "7");
}

TEST_CASE("args: usage errors, worded as the programs print them") {
    auto e = Args::parse(words({"stats", "--date"}), 0, kSpec);
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "--date needs a value");
    e = Args::parse(words({"--bogus"}), 0, kSpec);
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "unknown option --bogus");
    e = Args::parse(words({"--json=yes"}), 0, kSpec);   // a flag takes no value
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "unknown option --json=yes");
    e = Args::parse(words({"--"}), 0, kSpec);
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "unknown option --");
}

TEST_CASE("args: a single dash is a positional, not an option") {
    const auto a = Args::parse(words({"-x", "-"}), 0, kSpec);
    REQUIRE(a);
    CHECK(a->positionals() == words({"-x", "-"}));
}

TEST_CASE("args: firstNotIn names the first option a verb does not take") {
    const auto a = Args::parse(words({"export", "--once", "--date", "d", "--json"}), 0, kSpec);
    REQUIRE(a);
    CHECK(a->firstNotIn({"date", "json", "once"}) == std::nullopt);
    CHECK(a->firstNotIn({"json", "once"}) == "--date");       // values before flags
    CHECK(a->firstNotIn({"date"}) == "--json");               // flags sorted by name
    CHECK(a->values().size() == 1);
    CHECK(a->flags().size() == 2);
}
