# segue_wire: the batch JSON codec, gzip helpers and CSV rows shared by the sync worker and
# segue-hq. Included from sync/CMakeLists.txt (and by hq/ when the sync layer is not built).
add_library(segue_wire STATIC ${CMAKE_CURRENT_LIST_DIR}/wire.cpp)
target_include_directories(segue_wire PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(segue_wire PUBLIC segue_core nlohmann_json::nlohmann_json PRIVATE ZLIB::ZLIB PkgConfig::DEFLATE)

# segue_batch_decode: wire::decodeBatch, HQ's side of the wire. Its fast path reads with
# simdjson; a library of its own so the kiosk, which never decodes a batch, does not load it.
add_library(segue_batch_decode STATIC ${CMAKE_CURRENT_LIST_DIR}/batch_reader.cpp)
target_link_libraries(segue_batch_decode PUBLIC segue_wire PRIVATE simdjson::simdjson)
