# segue_embed(TARGET NAMESPACE FILE...) — compiles files into the binary as string_views,
# so the terminal runs on embedded defaults with no files beside it.
function(segue_embed target ns)
  set(out_cpp ${CMAKE_CURRENT_BINARY_DIR}/${target}_embedded.cpp)
  set(inputs ${ARGN})
  add_custom_command(
    OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} -DNS=${ns} -DBASE=${CMAKE_CURRENT_SOURCE_DIR}
            "-DFILES=${inputs}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${inputs} ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "Embedding ${target} files" VERBATIM)
  add_library(${target} STATIC ${out_cpp})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
