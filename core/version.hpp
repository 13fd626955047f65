// The product version, shown by --version and sent to HQ with every batch.
#pragma once

namespace segue {
inline constexpr const char* kVersion = "0.1.0";
} // namespace segue
