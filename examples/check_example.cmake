# SPDX-License-Identifier: MIT
# Runs one example (COMMAND, ARGS: "realio" means no arguments) and checks
# that it exits 0 and that its output matches every regex in EXPECT.
if(ARGS STREQUAL "realio")
  execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
else()
  execute_process(COMMAND ${COMMAND} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
endif()
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "example exited with ${rc}")
endif()
foreach(regex IN LISTS EXPECT)
  if(NOT "${out}" MATCHES "${regex}")
    message(FATAL_ERROR "output does not match: ${regex}")
  endif()
endforeach()
