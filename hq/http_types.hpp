// A request and its reply as segue-hq's routes see them: plain structs, independent of the HTTP
// library underneath (hq/server.cpp is the only file that knows Boost.Beast).
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace segue::hq {

struct Principal;

struct HttpRequest {
    std::string method;
    std::string target;                                        ///< as received: path and query
    std::string path;                                          ///< percent-decoded path, no query
    std::multimap<std::string, std::string> params;            ///< decoded query parameters
    std::vector<std::pair<std::string, std::string>> headers;  ///< as received, in order
    std::string body;                                          ///< as received (not decoded), at most the limit
    bool bodyTooLarge = false;   ///< the body passed the limit; it was read to the end and dropped
    bool bodyCut = false;        ///< the body passed the drain limit: reading stopped, the connection closes
    std::string remoteAddress;   ///< the client's IP address
    bool opsListener = false;    ///< arrived on the loopback operations listener
    std::vector<std::string> matches;   ///< the route pattern's {captures}, in order
    /// Who the router's access check found calling (a read token or a session); null on routes
    /// anyone may call.
    std::shared_ptr<const Principal> principal;

    /// The first header of that name (case-insensitive); "" when absent.
    std::string header(std::string_view name) const;
    bool hasParam(const std::string& name) const { return params.count(name) > 0; }
    std::string param(const std::string& name) const;
};

/// What a streamed body's producer did with one call.
enum class StreamStep { More, Done, Abort };

struct HttpResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// When set, the body is sent chunked: called again and again (on a handler thread) to append
    /// the next piece to `out` until it returns Done (or Abort: the reply ends without its last
    /// chunk, so the client sees it incomplete). `body` is then ignored.
    std::function<StreamStep(std::string& out)> stream;
    bool close = false;          ///< close the connection after this reply
    std::string routeLabel = "other";   ///< the route table's metrics label
    std::string device;          ///< the device the request authenticated as, for the log
    /// libdeflate level when the server gzips the body for a client that accepts it (1 fastest).
    int gzipLevel = 6;

    void setHeader(std::string name, std::string value);
    std::string header(std::string_view name) const;
    void setContent(std::string content, std::string contentType);
};

/// Decodes %XX (and '+' as space when `plusIsSpace`); malformed escapes stay as they are.
std::string percentDecode(std::string_view text, bool plusIsSpace);
/// Splits "a=1&b=2" into decoded pairs.
std::multimap<std::string, std::string> parseQuery(std::string_view query);

} // namespace segue::hq
