# SPDX-License-Identifier: MIT
# examples/README.md maps every section of the anyio tutorial the project
# started from to its example: each section has a row; a row that says
# "runs" names an examples/*.cpp that exists (examples/CMakeLists.txt then
# runs it on realio and on sim); a row that says "missing" names none; and
# every example program in examples/ appears in the file.
set(sections
  "Creating and managing tasks" "Handling exceptions" "Timeouts"
  "Shielded cleanup after cancellation" "Synchronization primitives"
  "Managing operating system signals" "TCP client and server" "TLS client and server"
  "Unix client and server" "UDP client and server" "Bonus: a dual server"
  "Communication between tasks"
  "Managing multiple producers and/or multiple consumers" "Working with threads"
  "Dealing with files" "Using subprocesses" "Running CPU-intensive computation")
file(READ ${SOURCE_DIR}/examples/README.md text)
file(STRINGS ${SOURCE_DIR}/examples/README.md rows REGEX "^\\| ")
set(errors "")
foreach(section IN LISTS sections)
  set(found FALSE)
  foreach(row IN LISTS rows)
    string(FIND "${row}" "| ${section} |" at)
    if(at EQUAL 0)
      set(found TRUE)
      if(row MATCHES "\\| \\[([a-z_0-9]+)\\.cpp\\]\\(([a-z_0-9]+)\\.cpp\\) \\| runs \\|$")
        if(NOT CMAKE_MATCH_1 STREQUAL CMAKE_MATCH_2)
          string(APPEND errors "'${section}': link text ${CMAKE_MATCH_1} and target ${CMAKE_MATCH_2} differ\n")
        elseif(NOT EXISTS ${SOURCE_DIR}/examples/${CMAKE_MATCH_1}.cpp)
          string(APPEND errors "'${section}': examples/${CMAKE_MATCH_1}.cpp does not exist\n")
        endif()
      elseif(NOT row MATCHES "\\| - \\| missing \\|$")
        string(APPEND errors "'${section}': row is neither '[x.cpp](x.cpp) | runs' nor '- | missing': ${row}\n")
      endif()
    endif()
  endforeach()
  if(NOT found)
    string(APPEND errors "tutorial section '${section}' has no row\n")
  endif()
endforeach()
file(GLOB programs RELATIVE ${SOURCE_DIR}/examples ${SOURCE_DIR}/examples/*.cpp)
foreach(p IN LISTS programs)
  string(FIND "${text}" "(${p})" at)
  if(at EQUAL -1)
    string(APPEND errors "examples/${p} is not listed in examples/README.md\n")
  endif()
endforeach()
if(errors)
  message(FATAL_ERROR "examples/README.md:\n${errors}")
endif()
