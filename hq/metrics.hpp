// Counters for GET /metrics in the Prometheus text format: requests by route and status,
// records by result, a histogram of batch ingest latency, the server's connections, and the month
// partitions of responses (PostgreSQL), and the heap by owner (glibc's figures, SQLite's share).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace segue::hq {

class Metrics {
public:
    /// Upper bounds (seconds) of the latency histogram buckets; +Inf is implied.
    static constexpr std::array<double, 10> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                               0.25,  0.5,  1.0,   2.5,  5.0};

    /// `route` is the route pattern (bounded set), never the raw path.
    void countRequest(const std::string& route, int status);
    void countResponses(std::int64_t accepted, std::int64_t duplicates, std::int64_t rejected);
    void observeIngest(double seconds);
    /// A connection event of the server: "accepted", "refused_per_address", "refused_total",
    /// "closed_idle_for_new", "header_deadline", "body_too_slow" (a bounded set).
    void countConnection(const char* outcome);
    /// Connections open now, changed by `delta`.
    void addOpenConnections(int delta);

    /// A pass over the month partitions of responses (PostgreSQL): what it created and dropped,
    /// and the rows in the default partition. Before the first, /metrics shows none of these.
    void notePartitionPass(std::int64_t created, std::int64_t dropped, std::int64_t defaultRows);
    /// The rows in the default partition, counted again between passes.
    void setDefaultPartitionRows(std::int64_t rows);

    std::string render() const;

private:
    mutable std::mutex m_mutex;
    std::map<std::pair<std::string, int>, std::int64_t> m_requests;
    std::int64_t m_accepted = 0, m_duplicates = 0, m_rejected = 0;
    std::array<std::int64_t, kLatencyBuckets.size() + 1> m_buckets{};
    double m_latencySum = 0;
    std::int64_t m_latencyCount = 0;
    std::map<std::string, std::int64_t> m_connections;
    std::int64_t m_openConnections = 0;
    bool m_partitioned = false;
    std::int64_t m_partitionsCreated = 0, m_partitionsDropped = 0, m_defaultPartitionRows = 0;
};

} // namespace segue::hq
