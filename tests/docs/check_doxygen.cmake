# SPDX-License-Identifier: MIT
# Builds the API reference (docs/Doxyfile) into WORKDIR and fails on any
# Doxygen warning; checks the pages users land on exist; then shows that the
# check bites: a header with a broken \ref must fail the same configuration.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
if(NOT DOXYGEN)
  message(FATAL_ERROR "doxygen is not installed (scripts/install-deps.sh installs it)")
endif()
set(ENV{ANYIO_DOXYGEN_OUT} ${WORKDIR}/api)
execute_process(COMMAND ${DOXYGEN} docs/Doxyfile WORKING_DIRECTORY ${SOURCE_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "doxygen failed (exit ${rc}):\n${out}${err}")
endif()
foreach(page index.html classanyio_1_1task__group.html classanyio_1_1cancel__scope.html
        namespaceanyio_1_1sim.html)
  if(NOT EXISTS ${WORKDIR}/api/html/${page})
    message(FATAL_ERROR "the API reference has no ${page}")
  endif()
endforeach()
file(READ ${WORKDIR}/api/html/index.html index)
if(NOT index MATCHES "anyio-cpp API reference")
  message(FATAL_ERROR "index.html is not docs/api.md's front page")
endif()

# The same configuration over a header with a broken reference must fail.
file(WRITE ${WORKDIR}/broken/broken.hpp
  "/// \\file\n/// See \\ref no_such_thing for details.\nstruct broken {};\n")
file(READ ${SOURCE_DIR}/docs/Doxyfile config)
string(APPEND config "\nINPUT = ${WORKDIR}/broken\nUSE_MDFILE_AS_MAINPAGE =\n"
                     "OUTPUT_DIRECTORY = ${WORKDIR}/broken-out\n")
file(WRITE ${WORKDIR}/Doxyfile.broken "${config}")
execute_process(COMMAND ${DOXYGEN} ${WORKDIR}/Doxyfile.broken WORKING_DIRECTORY ${SOURCE_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT "${out}${err}" MATCHES "no_such_thing")
  message(FATAL_ERROR "a broken \\ref did not fail doxygen (exit ${rc}):\n${out}${err}")
endif()
