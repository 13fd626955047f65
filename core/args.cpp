#include "core/args.hpp"

namespace segue::core {

std::expected<Args, ArgError> Args::parse(const std::vector<std::string>& argv, std::size_t first,
                                          const ArgSpec& spec) {
    Args out;
    for (std::size_t i = first; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (!a.starts_with("--")) {
            out.m_positionals.push_back(a);
            continue;
        }
        const auto eq = a.find('=');
        const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        if (spec.flags.contains(name) && eq == std::string::npos) {
            out.m_flags.insert(name);
        } else if (spec.valued.contains(name)) {
            if (eq != std::string::npos) out.m_values[name] = a.substr(eq + 1);
            else if (i + 1 < argv.size()) out.m_values[name] = argv[++i];
            else return std::unexpected(ArgError{"--" + name + " needs a value"});
        } else {
            return std::unexpected(ArgError{"unknown option " + a});
        }
    }
    return out;
}

std::optional<std::string> Args::value(std::string_view name) const {
    const auto it = m_values.find(name);
    return it == m_values.end() ? std::nullopt : std::optional(it->second);
}

std::expected<std::string, ArgError> Args::required(std::string_view name) const {
    auto v = value(name);
    if (!v || v->empty()) return std::unexpected(ArgError{"--" + std::string(name) + " is required"});
    return *v;
}

bool Args::flag(std::string_view name) const { return m_flags.contains(name); }

std::optional<std::string> Args::firstNotIn(const std::set<std::string, std::less<>>& allowed) const {
    for (const auto& [name, value] : m_values)
        if (!allowed.contains(name)) return "--" + name;
    for (const auto& name : m_flags)
        if (!allowed.contains(name)) return "--" + name;
    return std::nullopt;
}

} // namespace segue::core
