// The command-line parser both programs share: `--name value`, `--name=value`, `--flag`, and
// positionals (a verb and its arguments), with the same errors and wording everywhere.
#pragma once
#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace segue::core {

/// The options a command takes, by name without the leading "--" (e.g. "data-dir").
struct ArgSpec {
    std::set<std::string, std::less<>> valued;   ///< take a value: `--name value` or `--name=value`
    std::set<std::string, std::less<>> flags;    ///< take none: `--name` (`--name=x` is refused)
};

/// A usage error, worded for the user: "--date needs a value", "unknown option --bogus".
struct ArgError {
    std::string message;
};

/// The parsed command line. Options may come anywhere among the positionals; a later value
/// replaces an earlier one; a word not starting with "--" (also "-x") is a positional.
class Args {
public:
    /// Parses argv[first…] against `spec`. Errors: "--NAME needs a value" (a valued option last),
    /// "unknown option ARG" (a name in neither set, or a flag given "=value").
    static std::expected<Args, ArgError> parse(const std::vector<std::string>& argv, std::size_t first,
                                               const ArgSpec& spec);

    /// The value of a valued option, or nullopt when not given.
    std::optional<std::string> value(std::string_view name) const;
    /// The value, or "--NAME is required" when missing or empty.
    std::expected<std::string, ArgError> required(std::string_view name) const;
    bool flag(std::string_view name) const;
    /// Positionals in order (the first is usually the verb).
    const std::vector<std::string>& positionals() const { return m_positionals; }
    /// The valued options given, by name (sorted).
    const std::map<std::string, std::string, std::less<>>& values() const { return m_values; }
    /// The flags given, by name (sorted).
    const std::set<std::string, std::less<>>& flags() const { return m_flags; }
    /// The first given option (values, then flags, each sorted) not in `allowed`, as "--NAME",
    /// for "--NAME does not apply to VERB".
    std::optional<std::string> firstNotIn(const std::set<std::string, std::less<>>& allowed) const;

private:
    std::map<std::string, std::string, std::less<>> m_values;
    std::set<std::string, std::less<>> m_flags;
    std::vector<std::string> m_positionals;
};

} // namespace segue::core
