# SPDX-License-Identifier: MIT
# Builds and runs tests/consumer/project as a separate CMake project (cmake
# -P script, run by ctest). MODE=package installs the main build into a
# fresh prefix and consumes it with find_package; MODE=subdirectory builds
# anyio from source inside the consumer. Same compiler and launcher (ccache)
# as the main build, but -O0 without debug info: this checks packaging, not
# code generation, and halves the compile time of the vendored library.
foreach(var MODE SOURCE_DIR MAIN_BUILD_DIR WORK_DIR GENERATOR CXX)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): ${what} failed (${rc}):\n  ${ARGN}\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(project_args -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Debug
    -DCMAKE_CXX_FLAGS_DEBUG=-O0)
if(MAKE_PROGRAM)
  list(APPEND project_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(LAUNCHER)
  list(APPEND project_args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()

if(MODE STREQUAL "package")
  # A fresh prefix and build every time: a stale install must not pass.
  file(REMOVE_RECURSE ${WORK_DIR})
  run_step("cmake --install"
           ${CMAKE_COMMAND} --install ${MAIN_BUILD_DIR} --prefix ${WORK_DIR}/prefix)
  list(APPEND project_args -DANYIO_CONSUMER_MODE=package -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "subdirectory")
  # The build directory is kept between runs: rebuilding anyio from scratch
  # each time would only measure the compiler.
  list(APPEND project_args -DANYIO_CONSUMER_MODE=subdirectory -DANYIO_SOURCE_DIR=${SOURCE_DIR}
       -DANYIO_WERROR=${WERROR})
else()
  message(FATAL_ERROR "MODE=${MODE}: expected package or subdirectory")
endif()

run_step("configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer/project -B ${WORK_DIR}/build
         -G ${GENERATOR} ${project_args})
if(MODE STREQUAL "package")
  string(FIND "${step_output}" "anyio found in ${WORK_DIR}/prefix/" at)
  if(at EQUAL -1)
    message(FATAL_ERROR
            "consumer (package): anyio was not found in the fresh prefix:\n${step_output}")
  endif()
endif()
run_step("build" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step("run consumer" ${WORK_DIR}/build/consumer)
if(NOT step_output MATCHES "consumer: realio=30 sim=30")
  message(FATAL_ERROR "consumer (${MODE}): unexpected output:\n${step_output}")
endif()
message(STATUS "${step_output}")
if(MODE STREQUAL "package")
  run_step("run consumer_tests"
           ${CMAKE_COMMAND} -E env ANYIO_SEEDS=3 ${WORK_DIR}/build/consumer_tests)
  if(NOT step_output MATCHES "All tests passed \\(")
    message(FATAL_ERROR "consumer (package): consumer_tests did not pass:\n${step_output}")
  endif()
  message(STATUS "${step_output}")
endif()
