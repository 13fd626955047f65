// The codecs write byte for byte what they wrote before the field table: the JSON of a record
// (tree and appendJson), the batch body, the CSV header and rows (tests/sync/golden_records.hpp).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/sync/golden_records.hpp"

TEST_CASE("the JSON and CSV writers match the golden output made before the field table") {
    std::ifstream in(SEGUE_GOLDEN_DIR "/records.txt", std::ios::binary);
    REQUIRE(in);
    std::stringstream golden;
    golden << in.rdbuf();
    const std::string expected = golden.str();
    const std::string actual = segue::test::golden::text();
    // A field added to the record on purpose (an extension of the format) regenerates the file:
    // SEGUE_WRITE_GOLDEN=1, then review the diff of records.txt.
    if (std::getenv("SEGUE_WRITE_GOLDEN") != nullptr) {
        std::ofstream(SEGUE_GOLDEN_DIR "/records.txt", std::ios::binary) << actual;
        return;
    }
    REQUIRE(expected.size() > 100'000);
    if (actual != expected) {
        // Name the first line that differs rather than print 100 KB.
        std::istringstream a(actual), e(expected);
        std::string la, le;
        int line = 0;
        while (std::getline(e, le)) {
            ++line;
            std::getline(a, la);
            if (la != le) break;
        }
        INFO("first difference at line " << line << "\nexpected: " << le << "\nactual:   " << la);
        CHECK(actual == expected);
    }
}
