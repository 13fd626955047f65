#include "hq/metrics.hpp"

#include <malloc.h>
#include <sqlite3.h>

#include <cstdio>

namespace segue::hq {

void Metrics::countRequest(const std::string& route, int status) {
    std::lock_guard lock(m_mutex);
    ++m_requests[{route, status}];
}

void Metrics::countResponses(std::int64_t accepted, std::int64_t duplicates, std::int64_t rejected) {
    std::lock_guard lock(m_mutex);
    m_accepted += accepted;
    m_duplicates += duplicates;
    m_rejected += rejected;
}

void Metrics::observeIngest(double seconds) {
    std::lock_guard lock(m_mutex);
    std::size_t i = 0;
    while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
    ++m_buckets[i];
    m_latencySum += seconds;
    ++m_latencyCount;
}

void Metrics::countConnection(const char* outcome) {
    std::lock_guard lock(m_mutex);
    ++m_connections[outcome];
}

void Metrics::addOpenConnections(int delta) {
    std::lock_guard lock(m_mutex);
    m_openConnections += delta;
}

std::string Metrics::render() const {
    std::lock_guard lock(m_mutex);
    std::string out;
    out += "# HELP segue_hq_requests_total HTTP requests by route and status code.\n";
    out += "# TYPE segue_hq_requests_total counter\n";
    for (const auto& [key, n] : m_requests)
        out += "segue_hq_requests_total{route=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
               std::to_string(n) + "\n";
    out += "# HELP segue_hq_responses_total Survey responses received, by result.\n";
    out += "# TYPE segue_hq_responses_total counter\n";
    out += "segue_hq_responses_total{result=\"accepted\"} " + std::to_string(m_accepted) + "\n";
    out += "segue_hq_responses_total{result=\"duplicate\"} " + std::to_string(m_duplicates) + "\n";
    out += "segue_hq_responses_total{result=\"rejected\"} " + std::to_string(m_rejected) + "\n";
    out += "# HELP segue_hq_ingest_seconds Time to read, check and commit one batch.\n";
    out += "# TYPE segue_hq_ingest_seconds histogram\n";
    std::int64_t cumulative = 0;
    char bound[32];
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        cumulative += m_buckets[i];
        std::snprintf(bound, sizeof bound, "%g", kLatencyBuckets[i]);
        out += "segue_hq_ingest_seconds_bucket{le=\"" + std::string(bound) + "\"} " + std::to_string(cumulative) + "\n";
    }
    cumulative += m_buckets.back();
    out += "segue_hq_ingest_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", m_latencySum);
    out += "segue_hq_ingest_seconds_sum " + std::string(sum) + "\n";
    out += "segue_hq_ingest_seconds_count " + std::to_string(m_latencyCount) + "\n";
    out += "# HELP segue_hq_connections_total Connections to the main listener by outcome.\n";
    out += "# TYPE segue_hq_connections_total counter\n";
    for (const char* outcome : {"accepted", "refused_per_address", "refused_total", "closed_idle_for_new",
                                "header_deadline", "body_too_slow"}) {
        const auto it = m_connections.find(outcome);
        out += "segue_hq_connections_total{outcome=\"" + std::string(outcome) + "\"} " +
               std::to_string(it == m_connections.end() ? 0 : it->second) + "\n";
    }
    out += "# HELP segue_hq_connections_open Connections open on the main listener.\n";
    out += "# TYPE segue_hq_connections_open gauge\n";
    out += "segue_hq_connections_open " + std::to_string(m_openConnections) + "\n";
    if (m_partitioned) {
        out += "# HELP segue_hq_responses_default_partition_rows Responses whose id falls in no month partition "
               "(a terminal clock far off, or not a UUIDv7).\n";
        out += "# TYPE segue_hq_responses_default_partition_rows gauge\n";
        out += "segue_hq_responses_default_partition_rows " + std::to_string(m_defaultPartitionRows) + "\n";
        out += "# HELP segue_hq_response_partitions_created_total Month partitions of responses this process created.\n";
        out += "# TYPE segue_hq_response_partitions_created_total counter\n";
        out += "segue_hq_response_partitions_created_total " + std::to_string(m_partitionsCreated) + "\n";
        out += "# HELP segue_hq_response_partitions_dropped_total Month partitions of responses this process dropped "
               "([retention] responses_months).\n";
        out += "# TYPE segue_hq_response_partitions_dropped_total counter\n";
        out += "segue_hq_response_partitions_dropped_total " + std::to_string(m_partitionsDropped) + "\n";
    }
    // Read at each scrape: glibc walks every arena (a few hundred µs on a busy heap).
    const struct mallinfo2 heap = mallinfo2();
    out += "# HELP segue_hq_heap_bytes The C heap over every malloc arena (mmapped blocks included): bytes in use, "
           "and bytes free but kept for reuse.\n";
    out += "# TYPE segue_hq_heap_bytes gauge\n";
    out += "segue_hq_heap_bytes{state=\"in_use\"} " + std::to_string(heap.uordblks + heap.hblkhd) + "\n";
    out += "segue_hq_heap_bytes{state=\"free\"} " + std::to_string(heap.fordblks) + "\n";
    out += "# HELP segue_hq_sqlite_memory_bytes Of the heap in use, what SQLite holds: page caches and statements of "
           "every connection (0 on PostgreSQL).\n";
    out += "# TYPE segue_hq_sqlite_memory_bytes gauge\n";
    out += "segue_hq_sqlite_memory_bytes " + std::to_string(sqlite3_memory_used()) + "\n";
    return out;
}

void Metrics::notePartitionPass(std::int64_t created, std::int64_t dropped, std::int64_t defaultRows) {
    std::lock_guard lock(m_mutex);
    m_partitioned = true;
    m_partitionsCreated += created;
    m_partitionsDropped += dropped;
    m_defaultPartitionRows = defaultRows;
}

void Metrics::setDefaultPartitionRows(std::int64_t rows) {
    std::lock_guard lock(m_mutex);
    m_partitioned = true;
    m_defaultPartitionRows = rows;
}

} // namespace segue::hq
