#include "store/meta.hpp"

#include "store/sqlite_support.hpp"

namespace segue::store {

std::expected<std::optional<std::string>, Error> getMeta(Database& db, const std::string& key) {
    auto st = Statement::prepare(db.handle(), "SELECT value FROM meta WHERE key = ?1",
                                 "reading setting '" + key + "'");
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, key);
    auto row = st->step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(st->columnText(0));
}

std::expected<void, Error> setMeta(Database& db, const std::string& key, const std::string& value) {
    const std::string doing = "writing setting '" + key + "'";
    auto tx = Transaction::begin(db.handle(), doing);
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto st = Statement::prepare(db.handle(),
                                 "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                 doing);
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, key).bind(2, value);
    if (auto r = st->run(); !r) return r;
    return tx->commit();
}

} // namespace segue::store
