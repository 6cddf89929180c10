# SPDX-License-Identifier: MIT
# Drives the anyio-sim tool (TOOL) through its command line for one CHECK:
# show, stats, diff, merge, errors or help. Traces come from real runs made
# here — anyio_trace_gen (GEN) and the harness_fixtures test program
# (FIXTURES) — and expected numbers are counted from the trace files
# themselves, so the checks follow the simulator rather than pin its output.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
set(ENV{ANYIO_TRACE_DIR} ${WORKDIR}/traces)
unset(ENV{COLUMNS})

# run(<rc> <text> <command>...): stdout and stderr together, from WORKDIR.
function(run out_rc out_text)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_text} "${out}${err}" PARENT_SCOPE)
endfunction()

function(expect_rc rc want what text)
  if(NOT rc STREQUAL "${want}")
    message(FATAL_ERROR "${what}: exit status ${rc}, expected ${want}. Output:\n${text}")
  endif()
endfunction()

function(expect_match text regex what)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: output does not match '${regex}'. Output:\n${text}")
  endif()
endfunction()

function(expect_no_match text regex what)
  if(text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: output matches '${regex}' but should not. Output:\n${text}")
  endif()
endfunction()

# count_lines(<out> <file> <regex>): how many lines of the file match.
function(count_lines out file regex)
  file(STRINGS ${WORKDIR}/${file} lines REGEX "${regex}")
  list(LENGTH lines n)
  set(${out} ${n} PARENT_SCOPE)
endfunction()

function(generate scenario file)
  run(rc text ${GEN} ${scenario} ${WORKDIR}/${file} ${ARGN})
  expect_rc(${rc} 0 "generating ${file}" "${text}")
endfunction()

# 1-based line number of the first line of `file` matching `regex`.
function(line_of out file regex)
  file(STRINGS ${WORKDIR}/${file} lines)
  set(n 0)
  foreach(l IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(l MATCHES "${regex}")
      set(${out} ${n} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "no line of ${file} matches ${regex}")
endfunction()

if(CHECK STREQUAL "show")
  generate(kinds k.jsonl --seed 3)
  run(rc out ${TOOL} show k.jsonl --width 120)
  expect_rc(${rc} 0 "show" "${out}")
  expect_match("${out}" "^anyio-sim trace k.jsonl\n" "header")
  expect_match("${out}" "\n  test +gen: kinds\n  seed +3\n  strategy +random\n" "header fields")
  expect_match("${out}" "\n  replay +<test-binary> 'gen: kinds' --anyio-replay k.jsonl\n"
               "replay command")
  expect_match("${out}" "\n +time +step +1 main +2 sleeper +3 racer-a +4 racer-b\n" "lanes")
  expect_match("${out}" "decision: ran '[^']+' \\(ready: [^,)]+, [^)]+\\)" "decision line")
  expect_match("${out}" "\\* clock jumps \\+1s to t=1\\.000s" "clock jump")
  expect_match("${out}" "\\* deadline of scope [0-9]+ expires" "deadline")
  expect_match("${out}" "\\* draw 'dice': [0-5] in \\[0, 6\\)" "draw")
  expect_match("${out}" "spawned by 'main'" "spawn")
  expect_match("${out}" "parks: sleep\n" "park")
  expect_match("${out}" "gets anyio::cancelled\n[^\n]+wakes: cancelled\n" "cancellation")
  expect_match("${out}" "\n\noutcome: passed after [0-9]+ steps at t=2\\.000s\n$" "outcome last")
  # The sleeper's events sit in the sleeper's column.
  string(REGEX MATCH "\n +time +step[^\n]*" lanes "${out}")
  string(REGEX MATCH "\n[^\n]*gets anyio::cancelled" cancelled_line "${out}")
  string(FIND "${lanes}" "2 sleeper" lane_col)
  string(FIND "${cancelled_line}" "gets" event_col)
  if(NOT lane_col EQUAL event_col)
    message(FATAL_ERROR "sleeper lane at column ${lane_col}, its event at ${event_col}:\n${out}")
  endif()
  # Every event is one line: header (9 lines), events, blank, outcome.
  count_lines(events k.jsonl "\"ev\":")
  string(REGEX MATCHALL "\n *t=" event_lines "${out}")
  list(LENGTH event_lines shown)
  if(NOT shown EQUAL events)
    message(FATAL_ERROR "show printed ${shown} event lines for ${events} events:\n${out}")
  endif()

  run(rc out ${TOOL} show --no-steps k.jsonl --width 120)
  expect_rc(${rc} 0 "show --no-steps" "${out}")
  expect_no_match("${out}" " runs\n" "--no-steps")
  expect_match("${out}" "decision: ran" "--no-steps keeps decisions")

  run(rc out ${TOOL} show --task 2 k.jsonl)
  expect_rc(${rc} 0 "show --task 2" "${out}")
  expect_match("${out}" "\n +time +step +2 sleeper\n" "--task lane header")
  string(REGEX MATCHALL "exits" exits "${out}")
  list(LENGTH exits n_exits)
  if(NOT n_exits EQUAL 1)
    message(FATAL_ERROR "--task 2 shows ${n_exits} exits, expected only the sleeper's:\n${out}")
  endif()

  run(rc out ${TOOL} show --width 60 --program /bin/prog k.jsonl)
  expect_rc(${rc} 0 "show --width 60" "${out}")
  expect_match("${out}" "\n[^\n]+  task 2 'sleeper' +parks: sleep\n" "narrow: task markers")
  expect_match("${out}" "replay +/bin/prog 'gen: kinds'" "--program")

  # Forty tasks: too many for columns, so lines name their task; long ready
  # lists are cut short (the trace lists 32 and "ready_total").
  generate(crowd c.jsonl)
  run(rc out ${TOOL} show c.jsonl)
  expect_rc(${rc} 0 "show crowd" "${out}")
  expect_match("${out}" "\n[^\n]+  task 1 'main' +starts \\(the main task\\)\n" "task markers")
  expect_match("${out}" "decision: ran '[^']+' \\(ready: ([^,)]+, )+[^,)]+ and [0-9]+ more\\)"
               "long ready list")

  generate(deadlock d.jsonl)
  run(rc out ${TOOL} show d.jsonl)
  expect_rc(${rc} 0 "show deadlock" "${out}")
  expect_match("${out}" "\noutcome: deadlock after [0-9]+ steps at t=0\\.250s\n" "deadlock")
  expect_match("${out}" "\n  blocked tasks:\n    task 1 'main' waits on: [^\n]+\n"
               "blocked main")
  expect_match("${out}" "\n    task 2 'waiter' waits on: sleep_forever\n" "blocked waiter")

  # A trace from a real test program (the harness' lost-update fixture).
  run(rc out ${FIXTURES} "fixture: lost update" --anyio-record 7)
  set(fixture_trace ${WORKDIR}/traces/fixture__lost_update-seed7.jsonl)
  run(rc out ${TOOL} show ${fixture_trace})
  expect_rc(${rc} 0 "show fixture trace" "${out}")
  expect_match("${out}" "\n  test +fixture: lost update\n" "fixture test name")
  expect_match("${out}" "\noutcome: (passed|failed) after" "fixture outcome")
  # '-' reads the trace from standard input: the same timeline, named <stdin>.
  execute_process(COMMAND ${TOOL} show - --width 120 WORKING_DIRECTORY ${WORKDIR}
    INPUT_FILE ${WORKDIR}/k.jsonl RESULT_VARIABLE rc OUTPUT_VARIABLE piped ERROR_VARIABLE err)
  expect_rc(${rc} 0 "show -" "${piped}${err}")
  expect_match("${piped}" "^anyio-sim trace <stdin>\n" "show - header")
  expect_match("${piped}" "\n  replay +<test-binary> 'gen: kinds' --anyio-replay TRACE\n"
               "show - replay placeholder")
  string(REGEX REPLACE "^[^\n]*\n" "" piped_body "${piped}")
  string(REGEX REPLACE "^[^\n]*\n" "" file_body "${out}")
  string(REGEX REPLACE "\n  replay [^\n]*\n" "\n" piped_body "${piped_body}")
  string(REGEX REPLACE "\n  replay [^\n]*\n" "\n" file_body "${file_body}")
  if(NOT piped_body STREQUAL file_body)
    message(FATAL_ERROR "show - printed another timeline than show k.jsonl:\n${piped}")
  endif()
  file(WRITE ${WORKDIR}/nothing "")
  execute_process(COMMAND ${TOOL} show - WORKING_DIRECTORY ${WORKDIR}
    INPUT_FILE ${WORKDIR}/nothing RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  expect_rc(${rc} 2 "show - of nothing" "${o}${e}")
  expect_match("${e}" "<stdin>: empty trace" "show - of nothing")

  # A sweep summary: show says what it is and prints it; stats and diff,
  # which need a trace, say what the file is instead of "not a JSON object".
  run(rc t ${FIXTURES} "[.fixture]" --anyio-sweep 0..20 --shard 1/2 --json s.json)
  file(READ ${WORKDIR}/s.json s_text)
  string(JSON s_failed LENGTH "${s_text}" failures)
  string(JSON s_run GET "${s_text}" seeds_run)
  run(rc out ${TOOL} show s.json)
  expect_rc(${rc} 0 "show of a summary" "${out}")
  expect_match("${out}" "^anyio-sim sweep summary s.json\n" "summary header")
  expect_match("${out}" "\n  seeds +0\\.\\.20, shard 1/2\n  seeds run +${s_run}\n" "summary seeds")
  expect_match("${out}" "\n  failures +${s_failed}\n" "summary failures")
  if(s_failed GREATER 0)
    expect_match("${out}" "\n  replay: <test-binary> 'fixture: [^\n]+--anyio-replay " "summary replay")
  endif()
  execute_process(COMMAND ${TOOL} show - WORKING_DIRECTORY ${WORKDIR}
    INPUT_FILE ${WORKDIR}/s.json RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  expect_rc(${rc} 0 "show - of a summary" "${o}${e}")
  expect_match("${o}" "^anyio-sim sweep summary <stdin>\n" "summary from stdin")
  foreach(cmd "stats s.json" "diff s.json k.jsonl" "diff k.jsonl s.json")
    separate_arguments(argv UNIX_COMMAND "${cmd}")
    run(rc out ${TOOL} ${argv})
    expect_rc(${rc} 2 "${cmd}" "${out}")
    expect_match("${out}" "s.json: a sweep summary \\(format anyio-sim-sweep\\), not a trace; 'anyio-sim show s.json' prints it"
                 "${cmd}")
  endforeach()
  string(JSON bad_summary SET "${s_text}" version 9)
  file(WRITE ${WORKDIR}/s9.json "${bad_summary}")
  run(rc out ${TOOL} show s9.json)
  expect_rc(${rc} 2 "show of a bad summary" "${out}")
  expect_match("${out}" "s9.json: field 'version' is 9, but this build reads version 1" "show s9")
elseif(CHECK STREQUAL "stats")
  generate(kinds k.jsonl --seed 3)
  run(rc out ${TOOL} stats k.jsonl)
  expect_rc(${rc} 0 "stats" "${out}")
  count_lines(total k.jsonl "\"ev\":")
  expect_match("${out}" "\nevents +${total}\n" "event total")
  foreach(kind spawn step park wake cancel cancelled deadline exit decide draw clock)
    count_lines(n k.jsonl "\"ev\":\"${kind}\"")
    expect_match("${out}" "\n  ${kind} +${n}\n" "count of ${kind}")
  endforeach()
  # A decide line stands for the step it decides (no step line repeats it).
  count_lines(step_lines k.jsonl "\"ev\":\"step\",\"task\":2,")
  count_lines(decide_lines k.jsonl "\"ev\":\"decide\",\"task\":2,")
  math(EXPR steps "${step_lines} + ${decide_lines}")
  count_lines(parks k.jsonl "\"ev\":\"park\",\"task\":2,")
  count_lines(wakes k.jsonl "\"ev\":\"wake\",\"task\":2,")
  expect_match("${out}" "\n +2  sleeper +${steps} +${parks} +${wakes} +1 +1  ok\n"
               "sleeper row")
  expect_match("${out}" "\noutcome +passed after [0-9]+ steps at t=2\\.000s\n" "outcome")
  expect_match("${out}" "\nvirtual time  2s \\(2 clock jumps\\)\n" "virtual time")
  file(STRINGS ${WORKDIR}/k.jsonl outcome_line REGEX "^{\"outcome\":")
  string(REGEX MATCH "\"steps\":([0-9]+)" m "${outcome_line}")
  expect_match("${out}" "\nsteps +${CMAKE_MATCH_1}\n" "steps agree with the outcome line")

  # A small hand-made trace with a known schedule: three decisions, of
  # which only the second is a preemption (task 2 ran and was still ready).
  # Each decide line stands for the step it decides.
  set(h "{\"format\":\"anyio-sim-trace\",\"version\":1,\"test\":\"p\",\"seed\":1,")
  string(APPEND h "\"strategy\":{\"name\":\"random\"},\"options\":{\"max_steps\":0,")
  string(APPEND h "\"max_virtual_time_ns\":0}}")
  set(ok "\"outcome\":\"ok\",\"failed\":false")
  set(e "{\"i\":0,\"t\":0,\"ev\":\"spawn\",\"task\":1,\"name\":\"main\",\"parent\":0}\n")
  foreach(line
      "{\"i\":1,\"t\":0,\"ev\":\"step\",\"task\":1,\"name\":\"main\"}"
      "{\"i\":1,\"t\":0,\"ev\":\"spawn\",\"task\":2,\"name\":\"a\",\"parent\":1}"
      "{\"i\":1,\"t\":0,\"ev\":\"spawn\",\"task\":3,\"name\":\"b\",\"parent\":1}"
      "{\"i\":1,\"t\":0,\"ev\":\"park\",\"task\":1,\"name\":\"main\",\"wait\":\"join\"}"
      "{\"i\":2,\"t\":0,\"ev\":\"decide\",\"task\":2,\"name\":\"a\",\"ready\":[2,3],\"chosen\":0}"
      "{\"i\":3,\"t\":0,\"ev\":\"decide\",\"task\":3,\"name\":\"b\",\"ready\":[3,2],\"chosen\":0}"
      "{\"i\":4,\"t\":0,\"ev\":\"decide\",\"task\":3,\"name\":\"b\",\"ready\":[2,3],\"chosen\":1}"
      "{\"i\":4,\"t\":0,\"ev\":\"exit\",\"task\":3,\"name\":\"b\",${ok}}"
      "{\"i\":5,\"t\":0,\"ev\":\"step\",\"task\":2,\"name\":\"a\"}"
      "{\"i\":5,\"t\":0,\"ev\":\"exit\",\"task\":2,\"name\":\"a\",${ok}}"
      "{\"i\":5,\"t\":0,\"ev\":\"wake\",\"task\":1,\"name\":\"main\",\"error\":false}"
      "{\"i\":6,\"t\":0,\"ev\":\"step\",\"task\":1,\"name\":\"main\"}"
      "{\"i\":6,\"t\":0,\"ev\":\"exit\",\"task\":1,\"name\":\"main\",${ok}}")
    string(APPEND e "${line}\n")
  endforeach()
  file(WRITE ${WORKDIR}/p.jsonl "${h}\n${e}{\"outcome\":\"passed\",\"steps\":6,\"t\":0}\n")
  run(rc out ${TOOL} stats p.jsonl)
  expect_rc(${rc} 0 "stats p.jsonl" "${out}")
  expect_match("${out}" "\ndecisions +3 \\(largest ready set: 2 tasks\\)\n" "decisions")
  expect_match("${out}" "\npreemptions +1 \\(33\\.3% of decisions\\)\n" "preemptions")
  expect_match("${out}" "\n +3  b +2 +0 +0 +0 +0  ok\n" "task b row")
  expect_match("${out}" "\n +1  main +2 +1 +1 +0 +0  ok\n" "main row")
  expect_match("${out}" "\n +2  a +2 +0 +0 +0 +0  ok\n" "task a row")
  expect_match("${out}" "\nsteps +6\n" "steps")
  # A step line that repeats the step its decide line stands for is one step.
  set(repeat "{\"i\":2,\"t\":0,\"ev\":\"step\",\"task\":2,\"name\":\"a\"}")
  string(REPLACE "\"chosen\":0}\n{\"i\":3," "\"chosen\":0}\n${repeat}\n{\"i\":3," e2 "${e}")
  file(WRITE ${WORKDIR}/p2.jsonl "${h}\n${e2}{\"outcome\":\"passed\",\"steps\":6,\"t\":0}\n")
  run(rc out ${TOOL} stats p2.jsonl)
  expect_match("${out}" "\n  step +4\n" "the repeated step line is read")
  expect_match("${out}" "\nsteps +6\n" "and not counted twice")
elseif(CHECK STREQUAL "diff")
  generate(kinds k.jsonl --seed 3)
  generate(kinds k4.jsonl --seed 4)
  run(rc out ${TOOL} diff k.jsonl k.jsonl)
  expect_rc(${rc} 0 "diff with itself" "${out}")
  expect_match("${out}" "^identical: [0-9]+ events, outcome passed\n" "identical")

  # Tamper with the random draw: the difference is on the draw's line.
  file(READ ${WORKDIR}/k.jsonl good)
  string(REGEX MATCH "\"purpose\":\"dice\",\"bound\":6,\"value\":([0-5])" m "${good}")
  set(original ${CMAKE_MATCH_1})
  math(EXPR other "(${original} + 1) % 6")
  string(REGEX REPLACE "(\"purpose\":\"dice\",\"bound\":6,\"value\":)[0-5]" "\\1${other}"
         bad "${good}")
  file(WRITE ${WORKDIR}/t.jsonl "${bad}")
  line_of(n k.jsonl "\"ev\":\"draw\"")
  run(rc out ${TOOL} diff k.jsonl t.jsonl)
  expect_rc(${rc} 1 "diff with a tampered copy" "${out}")
  expect_match("${out}" "^first difference: k.jsonl line ${n}, t.jsonl line ${n}\n" "line")
  expect_match("${out}" "\n  A: [^\n]*\"value\":${original}}\n  B: [^\n]*\"value\":${other}}\n"
               "both lines")
  expect_match("${out}" "\n  draw at step [0-9]+, t=0\\.000s\n" "what differs")

  # Tamper with a task's exit: the report names the task.
  string(REPLACE "\"name\":\"sleeper\",\"outcome\":\"ok\"" "\"name\":\"sleeper\",\"outcome\":\"no\""
         bad2 "${good}")
  file(WRITE ${WORKDIR}/t2.jsonl "${bad2}")
  run(rc out ${TOOL} diff k.jsonl t2.jsonl --context 2)
  expect_rc(${rc} 1 "diff exit" "${out}")
  expect_match("${out}" "\n  task 2 'sleeper', exit at step [0-9]+, t=1\\.000s\n" "task named")
  expect_match("${out}" "\n  the last shared events:\n    line [0-9]+: [^\n]+\n    line [0-9]+: "
               "context")

  # One event fewer: B reaches its outcome line where A still has an event.
  string(REGEX REPLACE "\n[^\n]*\"ev\":\"exit\",\"task\":1,[^\n]*" "" short "${good}")
  file(WRITE ${WORKDIR}/short.jsonl "${short}")
  run(rc out ${TOOL} diff k.jsonl short.jsonl)
  expect_rc(${rc} 1 "diff shorter" "${out}")
  expect_match("${out}"
               "\n  in A: task 1 'main', exit at step [0-9]+[^\n]*\n  in B: the outcome line\n"
               "shorter trace")

  # CRLF line ends and a byte order mark (an editor on Windows) change nothing.
  string(REPLACE "\n" "\r\n" crlf "${good}")
  file(WRITE ${WORKDIR}/crlf.jsonl "${crlf}")
  run(rc out ${TOOL} diff k.jsonl crlf.jsonl)
  expect_rc(${rc} 0 "diff with a CRLF copy" "${out}")
  expect_match("${out}" "^identical: " "CRLF")

  run(rc out ${TOOL} diff k.jsonl k4.jsonl)
  expect_rc(${rc} 1 "diff of two seeds" "${out}")
  expect_match("${out}"
               "^headers differ \\(line 1\\):\n  A: [^\n]*\"seed\":3,[^\n]*\n  B: [^\n]*\"seed\":4,"
               "headers")
elseif(CHECK STREQUAL "merge")
  run(rc t ${FIXTURES} "[.fixture]" --anyio-sweep 0..40 --shard 0/2 --json a.json)
  run(rc t ${FIXTURES} "[.fixture]" --anyio-sweep 0..40 --shard 1/2 --json b.json)
  run(rc t ${FIXTURES} "[.fixture]" --anyio-sweep 0..40 --json all.json)
  file(READ ${WORKDIR}/all.json all)
  string(JSON all_failed LENGTH "${all}" failures)
  string(JSON all_steps GET "${all}" steps)
  if(all_failed EQUAL 0)
    message(FATAL_ERROR "the lost-update fixture failed no seed in 0..40")
  endif()

  run(rc out ${TOOL} merge m.json a.json b.json)
  expect_rc(${rc} 1 "merge with failures" "${out}")
  expect_match("${out}" "^merged 2 summaries into m.json\n" "merge headline")
  expect_match("${out}" "\n  seeds run +80\n  steps +${all_steps}\n" "totals")
  expect_match("${out}" "\n  failures +${all_failed}\n" "failure count")
  expect_match("${out}" "\nseed [0-9]+ of 'fixture: lost update': failed: std::logic_error: "
               "failure line")
  expect_match("${out}"
               "\n  replay: <test-binary> 'fixture: lost update' --anyio-replay [^\n]+\\.jsonl\n"
               "replay command")
  expect_match("${out}"
               "\n  rerun:  ANYIO_BACKEND=sim ANYIO_SEED=[0-9]+ <test-binary> 'fixture: [^\n]+\n"
               "rerun command")
  file(READ ${WORKDIR}/m.json m)
  string(JSON m_run GET "${m}" seeds_run)
  string(JSON m_failed LENGTH "${m}" failures)
  string(JSON m_shards GET "${m}" shard count)
  if(NOT m_run EQUAL 80 OR NOT m_failed EQUAL all_failed OR NOT m_shards EQUAL 1)
    message(FATAL_ERROR "m.json: ${m_run} seeds, ${m_failed} failures, ${m_shards} shards")
  endif()

  run(rc out ${TOOL} merge a.json b.json -o m2.json --program /x/prog)
  expect_rc(${rc} 1 "merge -o" "${out}")
  expect_match("${out}" "\n  replay: /x/prog 'fixture: lost update' --anyio-replay " "--program")
  file(READ ${WORKDIR}/m2.json m2)
  if(NOT m2 STREQUAL m)
    message(FATAL_ERROR "merge -o wrote a different summary than merge OUT IN...")
  endif()

  run(rc out ${TOOL} merge m3.json a.json a.json)
  expect_rc(${rc} 2 "the same shard twice" "${out}")
  expect_match("${out}" "a.json repeats shard 0/2 of a.json" "duplicate shard")
  # A missing shard is an error (the merge would pass off half a sweep as
  # all of it), unless asked for; nothing is written then.
  run(rc out ${TOOL} merge m4.json a.json)
  expect_rc(${rc} 2 "one shard of two" "${out}")
  expect_match("${out}" "merge: missing shard\\(s\\) 1 of 2 \\(seeds 0\\.\\.40 of [^)]+given: a.json\\)"
               "missing shard")
  if(EXISTS ${WORKDIR}/m4.json)
    message(FATAL_ERROR "merge wrote m4.json although a shard was missing")
  endif()
  run(rc out ${TOOL} merge --allow-missing m4.json a.json)
  expect_match("${out}" "warning: missing shard\\(s\\) 1 of 2" "--allow-missing warns")
  file(READ ${WORKDIR}/a.json a_text)
  string(JSON a_failed LENGTH "${a_text}" failures)
  if(a_failed EQUAL 0)
    expect_rc(${rc} 0 "--allow-missing, no failures in a.json" "${out}")
  else()
    expect_rc(${rc} 1 "--allow-missing, failures in a.json" "${out}")
  endif()
  run(rc out ${TOOL} merge b.json a.json)
  expect_rc(${rc} 2 "a shard as OUT" "${out}")
  expect_match("${out}" "b.json is shard 1/2 of a sweep, not an output" "shard as output")

  # Another strategy: the rerun command must carry it; mixing strategies is refused.
  run(rc t ${FIXTURES} "fixture: lost update" --anyio-sweep 0..3 --strategy fifo --json f.json)
  run(rc out ${TOOL} merge mf.json f.json)
  expect_rc(${rc} 1 "merge of a fifo sweep" "${out}")
  expect_match("${out}"
               "\n  rerun:  <test-binary> 'fixture: [^']+' --anyio-sweep 1\\.\\.2 --strategy fifo\n"
               "rerun with the strategy")
  run(rc out ${TOOL} merge mx.json a.json f.json)
  expect_rc(${rc} 2 "merge of two strategies" "${out}")
  expect_match("${out}" "f.json ran strategy 'fifo' but a.json ran 'random'" "strategies")

  run(rc t ${FIXTURES} "fixture: always passes" --anyio-sweep 0..5 --json p.json)
  run(rc out ${TOOL} merge mp.json p.json)
  expect_rc(${rc} 0 "merge without failures" "${out}")
  expect_match("${out}" "\n  seeds run +5\n" "passing totals")
  expect_match("${out}" "\n  failures +0\n" "no failures")

  # Shards of a passing sweep: complete, missing, repeated; a failure in one
  # shard fails the merge.
  foreach(k 0 1 2)
    run(rc t ${FIXTURES} "fixture: always passes" --anyio-sweep 0..6 --shard ${k}/3 --json p${k}.json)
  endforeach()
  run(rc out ${TOOL} merge mp3.json p0.json p1.json p2.json)
  expect_rc(${rc} 0 "three passing shards" "${out}")
  expect_match("${out}" "\n  seeds run +6\n" "three shards' seeds")
  run(rc out ${TOOL} merge mp3.json p2.json p0.json)
  expect_rc(${rc} 2 "shard 1 of 3 missing" "${out}")
  expect_match("${out}" "missing shard\\(s\\) 1 of 3 \\(seeds 0\\.\\.6 of fixture: always passes"
               "shard 1 of 3 missing")
  run(rc out ${TOOL} merge mp3.json p0.json p1.json p2.json p1.json)
  expect_rc(${rc} 2 "shard 1 of 3 twice" "${out}")
  expect_match("${out}" "p1.json repeats shard 1/3 of p1.json" "shard 1 of 3 twice")
  run(rc t ${FIXTURES} "fixture: always passes" --anyio-sweep 3..9 --json over.json)
  run(rc out ${TOOL} merge mo.json p0.json p1.json p2.json over.json)
  expect_rc(${rc} 2 "overlapping sweeps" "${out}")
  expect_match("${out}" "overlaps [^\n]*seeds would be counted twice" "overlapping sweeps")
  file(READ ${WORKDIR}/p1.json p1)
  string(JSON p1f SET "${p1}" failures
         "[{\"seed\":4,\"test\":\"fixture: always passes\",\"outcome\":\"failed\",\"exception\":\"E\",\"message\":\"m\",\"trace\":\"\",\"preemptions\":2}]")
  string(JSON p1f SET "${p1f}" preemptions 7)  # fields a newer sweep may add are accepted
  file(WRITE ${WORKDIR}/p1f.json "${p1f}")
  run(rc out ${TOOL} merge mp3.json p0.json p1f.json p2.json)
  expect_rc(${rc} 1 "a failure in one shard of three" "${out}")
  expect_match("${out}" "\n  failures +1\n\nseed 4 of 'fixture: always passes': failed: E: m\n"
               "the one failure")

  # Every field is checked: bad values are errors naming the file and field,
  # never written back as a valid summary.
  file(READ ${WORKDIR}/p0.json p0)
  function(bad_summary name json regex)
    file(WRITE ${WORKDIR}/${name}.json "${json}")
    run(rc out ${TOOL} merge -o x.json ${name}.json)
    expect_rc(${rc} 2 "merge of ${name}.json" "${out}")
    expect_match("${out}" "^anyio-sim merge: ${name}\\.json: ${regex}" "${name}.json")
    if(EXISTS ${WORKDIR}/x.json)
      message(FATAL_ERROR "merge wrote x.json from the invalid ${name}.json")
    endif()
  endfunction()
  string(JSON j SET "${p0}" version 7)
  bad_summary(v7 "${j}" "field 'version' is 7, but this build reads version 1\n")
  string(JSON j REMOVE "${p0}" version)
  bad_summary(nov "${j}" "field 'version' is missing\n")
  string(JSON j SET "${p0}" version "\"1\"")
  bad_summary(vstr "${j}" "field 'version' must be an integer, got \"1\"\n")
  string(JSON j SET "${p0}" seeds_run -5)
  bad_summary(neg "${j}" "field 'seeds_run' is -5, not a count \\(negative\\)\n")
  string(JSON j SET "${p0}" seeds_run 1000)
  bad_summary(many "${j}" "field 'seeds_run' is 1000, more than the 2 seeds of shard 0/3\n")
  string(JSON j SET "${p0}" steps 1.5)
  bad_summary(frac "${j}" "field 'steps' must be a non-negative integer, got 1\\.5\n")
  string(JSON j SET "${p0}" virtual_time_ns -1)
  bad_summary(negtime "${j}" "field 'virtual_time_ns' is -1, not a count")
  string(JSON j SET "${p0}" shard index 3)
  bad_summary(k3 "${j}" "field 'shard\\.index' is 3, not below the shard count 3\n")
  string(JSON j SET "${p0}" shard count 0)
  bad_summary(n0 "${j}" "field 'shard\\.count' is 0")
  string(JSON j REMOVE "${p0}" shard)
  bad_summary(noshard "${j}" "field 'shard' is missing\n")
  string(JSON j REMOVE "${p0}" failures)
  bad_summary(nofail "${j}" "field 'failures' is missing\n")
  string(JSON j SET "${p0}" tests "[1]")
  bad_summary(tests "${j}" "field 'tests' must hold strings\n")
  string(JSON j SET "${p0}" strategy "\"bogus\"")
  bad_summary(strat "${j}" "field 'strategy' has unknown name \"bogus\"\n")
  string(JSON j SET "${p0}" first_seed 18446744073709551615)
  bad_summary(range "${j}" "field 'seed_count' runs the seed range past 2\\^64\n")
  string(JSON j SET "${p0}" seeds_run 2)
  string(JSON j SET "${j}" failures
         "[{\"seed\":4,\"test\":\"fixture: always passes\",\"outcome\":\"failed\",\"exception\":\"\",\"message\":\"\",\"trace\":\"\"}]")
  bad_summary(fseed "${j}" "field 'failures\\[0\\]\\.seed' is 4, not a seed of shard 0/3 of seeds 0\\.\\.6\n")
  string(JSON j SET "${p0}" failures
         "[{\"seed\":3,\"test\":\"fixture: always passes\",\"outcome\":\"failed\",\"exception\":\"\",\"trace\":\"\"}]")
  bad_summary(fmsg "${j}" "field 'failures\\[0\\]\\.message' is missing\n")
  string(JSON j SET "${p0}" failures
         "[{\"seed\":3,\"test\":\"other\",\"outcome\":\"failed\",\"exception\":\"\",\"message\":\"\",\"trace\":\"\"}]")
  bad_summary(ftest "${j}" "field 'failures\\[0\\]\\.test' is \"other\", not one of the summary's 'tests'\n")
  string(JSON j SET "${p0}" format "\"anyio-sim-trace\"")
  bad_summary(fmt "${j}" "not an anyio-sim sweep summary: field 'format' is \"anyio-sim-trace\", expected")
  bad_summary(arr "[1, 2]" "not an anyio-sim sweep summary: not a JSON object\n")
  generate(kinds k.jsonl --seed 3)
  run(rc out ${TOOL} merge -o x.json k.jsonl)
  expect_rc(${rc} 2 "merge of a trace" "${out}")
  expect_match("${out}" "k.jsonl: a trace \\(format anyio-sim-trace\\), not a sweep summary; 'anyio-sim show k.jsonl' prints it"
               "merge of a trace")

  run(rc out ${TOOL} merge -o - p0.json - -)
  expect_rc(${rc} 2 "stdin twice" "${out}")
  expect_match("${out}" "standard input \\('-'\\) given twice" "stdin twice")
  # Standard input as one of the inputs.
  execute_process(COMMAND ${TOOL} merge -o - p0.json - p2.json WORKING_DIRECTORY ${WORKDIR}
    INPUT_FILE ${WORKDIR}/p1.json RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  expect_rc(${rc} 0 "merge with stdin" "${out}${err}")
  string(JSON stdin_run GET "${out}" seeds_run)
  string(JSON stdin_version GET "${out}" version)
  if(NOT stdin_run EQUAL 6 OR NOT stdin_version EQUAL 1)
    message(FATAL_ERROR "merge with stdin: ${stdin_run} seeds, version ${stdin_version}:\n${out}")
  endif()

  file(WRITE ${WORKDIR}/bad.json "{\"format\":")
  run(rc out ${TOOL} merge x.json bad.json)
  expect_rc(${rc} 2 "merge of bad JSON" "${out}")
  expect_match("${out}" "bad.json: not an anyio-sim sweep summary" "bad JSON named")
  run(rc out ${TOOL} merge x.json nothere.json)
  expect_rc(${rc} 2 "merge of a missing file" "${out}")
  expect_match("${out}" "nothere.json: cannot open sweep summary" "missing file named")
elseif(CHECK STREQUAL "errors")
  generate(kinds k.jsonl --seed 3)
  file(READ ${WORKDIR}/k.jsonl good)
  line_of(draw_line k.jsonl "\"ev\":\"draw\"")
  string(REGEX REPLACE "\n[^\n]*\"ev\":\"draw\"[^\n]*\n" "\nnot json\n" malformed "${good}")
  file(WRITE ${WORKDIR}/malformed.jsonl "${malformed}")
  string(REGEX REPLACE "\n[^\n]*\"outcome\":\"passed\"[^\n]*\n$" "\n" truncated "${good}")
  file(WRITE ${WORKDIR}/truncated.jsonl "${truncated}")
  string(SUBSTRING "${good}" 0 600 cut)
  file(WRITE ${WORKDIR}/cut.jsonl "${cut}")
  string(REPLACE "\"version\":1," "\"version\":2," v2 "${good}")
  file(WRITE ${WORKDIR}/v2.jsonl "${v2}")
  line_of(step_line k.jsonl "\"ev\":\"step\"")
  string(REGEX REPLACE "(\"ev\":\"step\"),\"task\":[0-9]+" "\\1" notask "${good}")
  file(WRITE ${WORKDIR}/notask.jsonl "${notask}")
  file(WRITE ${WORKDIR}/empty.jsonl "")
  count_lines(total k.jsonl ".")
  math(EXPR last_event "${total} - 1")

  foreach(cmd show stats)
    run(rc out ${TOOL} ${cmd} malformed.jsonl)
    expect_rc(${rc} 2 "${cmd} malformed" "${out}")
    expect_match("${out}" "malformed.jsonl:${draw_line}: not a JSON object" "${cmd} malformed")
    # No outcome line: the run crashed or was killed. The tool shows what
    # there is and says so; a line cut off mid-write at the end is dropped.
    run(rc out ${TOOL} ${cmd} truncated.jsonl)
    expect_rc(${rc} 0 "${cmd} unfinished" "${out}")
    expect_match("${out}" "unfinished after [0-9]+ steps" "${cmd} unfinished")
    expect_match("${out}" "stopped without writing its outcome line \\(it crashed or was killed\\)"
                 "${cmd} unfinished says why")
    run(rc out ${TOOL} ${cmd} cut.jsonl)
    expect_rc(${rc} 0 "${cmd} cut" "${out}")
    expect_match("${out}" "unfinished after [0-9]+ steps" "${cmd} cut mid-line")
    run(rc out ${TOOL} ${cmd} v2.jsonl)
    expect_rc(${rc} 2 "${cmd} version 2" "${out}")
    expect_match("${out}" "v2.jsonl:1: field 'version' is 2, but this build reads version 1"
                 "${cmd} version")
    run(rc out ${TOOL} ${cmd} notask.jsonl)
    expect_rc(${rc} 2 "${cmd} missing field" "${out}")
    expect_match("${out}" "notask.jsonl:${step_line}: field 'task' is missing" "${cmd} field")
    run(rc out ${TOOL} ${cmd} empty.jsonl)
    expect_rc(${rc} 2 "${cmd} empty" "${out}")
    expect_match("${out}" "empty.jsonl: empty trace" "${cmd} empty")
    run(rc out ${TOOL} ${cmd} /nonexistent/x.jsonl)
    expect_rc(${rc} 2 "${cmd} missing file" "${out}")
    expect_match("${out}" "/nonexistent/x.jsonl: cannot open trace file" "${cmd} missing file")
  endforeach()
  # A line past the limit (1 MiB by default): an error naming the file, the
  # line and its length, from every command, without reading it whole.
  # Raised with ANYIO_TRACE_MAX_LINE_BYTES, the line is read, and quoted by
  # its start and length only.
  string(REPEAT "n" 1500000 long_name)
  string(REGEX REPLACE "(\"task\":2,\"name\":\")[^\"]*" "\\1${long_name}" long "${good}")
  line_of(long_line k.jsonl "\"task\":2,")
  file(WRITE ${WORKDIR}/long.jsonl "${long}")
  foreach(cmd "show long.jsonl" "stats long.jsonl" "diff k.jsonl long.jsonl")
    separate_arguments(argv UNIX_COMMAND "${cmd}")
    run(rc out ${TOOL} ${argv})
    expect_rc(${rc} 2 "${cmd} over the line limit" "${out}")
    expect_match("${out}"
                 "long.jsonl:${long_line}: line is 15[0-9][0-9][0-9][0-9][0-9] bytes long, over the limit of 1048576 bytes \\(1 MiB; ANYIO_TRACE_MAX_LINE_BYTES raises it\\)\n$"
                 "${cmd} over the limit")
  endforeach()
  set(ENV{ANYIO_TRACE_MAX_LINE_BYTES} 4194304)
  foreach(cmd "show long.jsonl" "stats long.jsonl" "diff k.jsonl long.jsonl")
    separate_arguments(argv UNIX_COMMAND "${cmd}")
    run(rc out ${TOOL} ${argv})
    string(LENGTH "${out}" n)
    if(n GREATER 100000)
      message(FATAL_ERROR "${cmd} printed ${n} bytes for a trace with one 1.5 MB name")
    endif()
    if(cmd MATCHES "^diff")
      expect_rc(${rc} 1 "${cmd} with the limit raised" "${out}")
    else()
      expect_rc(${rc} 0 "${cmd} with the limit raised" "${out}")
    endif()
    if(cmd MATCHES "^stats")
      expect_match("${out}" "\n +2  nnnnnnnnnn+~ " "stats cuts the name")
    else()
      expect_match("${out}" "nnnnnnnnnn… \\(1500000 bytes\\)" "${cmd} quotes the name")
    endif()
  endforeach()
  expect_match("${out}" "^first difference: k.jsonl line ${long_line}, long.jsonl line ${long_line}\n  A: [^\n]+\n  B: {\"i\":1,[^\n]+nnnn… \\(15000[0-9][0-9] bytes\\)\n"
               "diff quotes the line")
  set(ENV{ANYIO_TRACE_MAX_LINE_BYTES} 12x)
  run(rc out ${TOOL} show k.jsonl)
  expect_rc(${rc} 2 "a bad ANYIO_TRACE_MAX_LINE_BYTES" "${out}")
  expect_match("${out}" "k.jsonl: ANYIO_TRACE_MAX_LINE_BYTES=12x: expected a number of bytes, at least 1024"
               "bad ANYIO_TRACE_MAX_LINE_BYTES")
  unset(ENV{ANYIO_TRACE_MAX_LINE_BYTES})

  run(rc out ${TOOL} show ${WORKDIR})
  expect_rc(${rc} 2 "show a directory" "${out}")
  expect_match("${out}" "${WORKDIR}: is a directory, not a trace file" "directory")
  run(rc out ${TOOL} diff k.jsonl malformed.jsonl)
  expect_rc(${rc} 2 "diff malformed" "${out}")
  expect_match("${out}" "malformed.jsonl:${draw_line}: not a JSON object" "diff malformed")

  # Extreme but valid values, hostile names (a terminal escape, NUL, tab),
  # CRLF line ends: read and shown, with no control character let through.
  set(edges ${SOURCE_DIR}/tests/fuzz/seeds/edges.jsonl)
  string(ASCII 27 escape)
  foreach(cmd show stats)
    run(rc out ${TOOL} ${cmd} ${edges})
    expect_rc(${rc} 0 "${cmd} edges.jsonl" "${out}")
    expect_match("${out}" "18446744073709551615" "${cmd} edges.jsonl")
    string(FIND "${out}" "${escape}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${cmd} printed a raw escape character from a task name:\n${out}")
    endif()
  endforeach()
  expect_match("${out}" "\\\\x1b\\[31m" "escape shown escaped")

  run(rc out ${TOOL})
  expect_rc(${rc} 2 "no command" "${out}")
  run(rc out ${TOOL} frobnicate)
  expect_rc(${rc} 2 "unknown command" "${out}")
  expect_match("${out}" "unknown command 'frobnicate'" "unknown command")
  run(rc out ${TOOL} show --frob k.jsonl)
  expect_rc(${rc} 2 "unknown option" "${out}")
  expect_match("${out}" "anyio-sim show: unknown option '--frob'\n\nusage: anyio-sim show" "option")
  run(rc out ${TOOL} show)
  expect_rc(${rc} 2 "show without a trace" "${out}")
  expect_match("${out}" "no TRACE given" "no trace")
  run(rc out ${TOOL} show --width abc k.jsonl)
  expect_rc(${rc} 2 "bad width" "${out}")
  expect_match("${out}" "option '--width' expects a number, got 'abc'" "width")
  run(rc out ${TOOL} show --task 99 k.jsonl)
  expect_rc(${rc} 2 "unknown task" "${out}")
  expect_match("${out}" "there is no task 99 in k.jsonl" "task")
  run(rc out ${TOOL} diff k.jsonl)
  expect_rc(${rc} 2 "diff with one trace" "${out}")
  expect_match("${out}" "expected two traces A B, got 1" "diff operands")
  run(rc out ${TOOL} merge)
  expect_rc(${rc} 2 "merge without inputs" "${out}")
  expect_match("${out}" "no input summaries given" "merge operands")
elseif(CHECK STREQUAL "help")
  run(rc out ${TOOL} --help)
  expect_rc(${rc} 0 "--help" "${out}")
  foreach(cmd show stats diff merge)
    expect_match("${out}" "\n  ${cmd} " "overview lists ${cmd}")
    run(rc out ${TOOL} ${cmd} --help)
    expect_rc(${rc} 0 "${cmd} --help" "${out}")
    expect_match("${out}" "^usage: anyio-sim ${cmd} " "${cmd} --help")
    run(rc out2 ${TOOL} help ${cmd})
    expect_rc(${rc} 0 "help ${cmd}" "${out2}")
    if(NOT out2 STREQUAL out)
      message(FATAL_ERROR "'help ${cmd}' differs from '${cmd} --help'")
    endif()
    run(rc out ${TOOL} --help)
  endforeach()
  run(rc out ${TOOL} --version)
  expect_rc(${rc} 0 "--version" "${out}")
  expect_match("${out}"
               "^anyio-sim [0-9]+\\.[0-9]+\\.[0-9]+ \\(trace format version 1, sweep summary version 1\\)\n$"
               "--version")
  run(rc out ${TOOL} --help)
  expect_match("${out}" "\n  --version +" "the overview lists --version")
else()
  message(FATAL_ERROR "unknown CHECK ${CHECK}")
endif()
