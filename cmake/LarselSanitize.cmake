# LARSEL_SANITIZE: build every target with GCC's sanitizers (scripts/sanitize.sh
# runs the suite so; docs/reliability.md, "Sanitizers").
#
#   -DLARSEL_SANITIZE=address,undefined   (a ';' list works too)
#
# Known: address, undefined, thread (thread excludes address). A bad value is a
# configure error naming it. Flags, for every compile and link:
#   -fsanitize=<list>              the instrumentation and its runtime
#   -fno-sanitize-recover=undefined  a UBSan finding aborts the process (it would
#                                  otherwise print and carry on: the test passes)
#   -fno-omit-frame-pointer -g     whole stacks with file:line in the reports
# They are directory options set before any add_subdirectory(), so every target
# gets them, the per-ISA kernel objects included; find_package()'s try_compile
# probes do not.
set(larsel_known_sanitizers address undefined thread)
string(REPLACE "," ";" larsel_sanitizers "${LARSEL_SANITIZE}")
list(REMOVE_ITEM larsel_sanitizers "")
foreach(s IN LISTS larsel_sanitizers)
  if(NOT s IN_LIST larsel_known_sanitizers)
    string(REPLACE ";" ", " known "${larsel_known_sanitizers}")
    message(FATAL_ERROR "LARSEL_SANITIZE: '${s}' is not a sanitizer LArSel builds with (${known})")
  endif()
endforeach()
if("thread" IN_LIST larsel_sanitizers AND "address" IN_LIST larsel_sanitizers)
  message(FATAL_ERROR "LARSEL_SANITIZE: 'thread' and 'address' cannot be combined (GCC refuses it)")
endif()

if(larsel_sanitizers)
  list(REMOVE_DUPLICATES larsel_sanitizers)
  string(REPLACE ";" "," larsel_sanitize_flag "${larsel_sanitizers}")
  add_compile_options(-fsanitize=${larsel_sanitize_flag} -fno-omit-frame-pointer -g)
  if("undefined" IN_LIST larsel_sanitizers)
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  add_link_options(-fsanitize=${larsel_sanitize_flag})
  message(STATUS "LArSel: sanitizers ${larsel_sanitize_flag} on every target")
endif()
