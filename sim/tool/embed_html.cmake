# SPDX-License-Identifier: MIT
# Build step of anyio-sim html: turns the page template (INPUT, an HTML file
# kept as HTML so it can be edited and opened as such) into a C++ header
# (OUTPUT) holding it as raw string literals. The text is cut into chunks of
# at most 8,000 bytes, as some compilers limit one literal's length, and a
# delimiter that occurs in the text is an error rather than a broken build.
file(READ ${INPUT} text)
set(delim "anyio_html")
string(FIND "${text}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains ')${delim}\"', the raw string delimiter")
endif()
string(LENGTH "${text}" size)
set(out "// Generated from ${INPUT} by embed_html.cmake; do not edit.\n#pragma once\n")
string(APPEND out "#include <string_view>\n\ninline constexpr std::string_view anyio_timeline_html_chunks[] = {\n")
set(pos 0)
while(pos LESS size)
  string(SUBSTRING "${text}" ${pos} 8000 chunk)
  string(APPEND out "R\"${delim}(${chunk})${delim}\",\n")
  math(EXPR pos "${pos} + 8000")
endwhile()
string(APPEND out "};\n")
file(WRITE ${OUTPUT}.tmp "${out}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
