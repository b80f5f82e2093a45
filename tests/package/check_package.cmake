# Usage: cmake -DRNNX_SOURCE_DIR=... -DRNNX_BINARY_DIR=... -DWORK_DIR=... -P check_package.cmake
# 1) installs the built rnnx into a scratch prefix and builds a find_package consumer;
# 2) configures a consumer that pulls rnnx in with add_subdirectory.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${RNNX_BINARY_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${RNNX_SOURCE_DIR}/tests/package/find_package_consumer -B ${WORK_DIR}/fp
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/fp)
run(${WORK_DIR}/fp/consumer)
run(${CMAKE_COMMAND} -S ${RNNX_SOURCE_DIR}/tests/package/subproject_consumer -B ${WORK_DIR}/sub
    -DRNNX_SOURCE_DIR=${RNNX_SOURCE_DIR})
message(STATUS "find_package and add_subdirectory consumers OK")
