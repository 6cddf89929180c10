# SPDX-License-Identifier: MIT
# The realio driver of example_replicated_kv failing on purpose
# (--realio --inject-failure, with backup, primary and client running): it
# must exit non-zero with the failure's message, after its shielded cleanup
# killed and reaped every child. Checked twice: the driver's own line, and
# here, each child's pid from its "(pid N)" line no longer existing.
execute_process(COMMAND ${COMMAND} --realio --inject-failure
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 80)
message("${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "the driver exited 0 although it failed")
endif()
if(NOT "${err}" MATCHES "injected failure of the driver")
  message(FATAL_ERROR "the driver's failure is not reported on stderr")
endif()
if(NOT "${out}" MATCHES "all 3 child processes reaped")
  message(FATAL_ERROR "the driver did not reap its three children")
endif()
string(REGEX MATCHALL "\\(pid [0-9]+\\)" pids "${out}")
list(LENGTH pids n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "expected the pids of backup, primary and client, found ${n}")
endif()
foreach(p IN LISTS pids)
  string(REGEX REPLACE "[^0-9]" "" pid "${p}")
  execute_process(COMMAND kill -0 ${pid} RESULT_VARIABLE alive OUTPUT_QUIET ERROR_QUIET)
  if(alive EQUAL 0)
    message(FATAL_ERROR "child ${pid} outlived the driver")
  endif()
endforeach()
