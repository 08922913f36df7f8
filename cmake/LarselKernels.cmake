# Kernel sets: the one way LArSel compiles code for an instruction set
# (larsel/core/isa_region.hpp says how a per-ISA source is written).
#
#   larsel_add_kernel_sources(<target> SOURCES <files>... [SETS <sets>...]
#                             [INCLUDES <dirs>...] [LINK <targets>...])
#
# compiles <files> once per kernel set (all of LARSEL_KERNEL_SETS unless SETS
# narrows them) into an object library <target>_<stem>_<set> (stem: the first
# file's name without extension), with
# LARSEL_ISA=<set> and LARSEL_ISA_LEVEL=<rank>, and adds the objects to
# <target>. No -m flags: the source's LARSEL_ISA_BEGIN pragma enables the set's
# instructions for its own code only. Every such object library is listed in
# the global property LARSEL_KERNEL_OBJECT_TARGETS (checked by
# scripts/check-kernel-isolation.py).
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  message(FATAL_ERROR "LArSel's kernels are written for x86-64 (this is ${CMAKE_SYSTEM_PROCESSOR})")
endif()
set(LARSEL_KERNEL_SETS baseline avx2 avx512 avx512vnni)

function(larsel_add_kernel_sources target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;SETS;INCLUDES;LINK")
  if(NOT arg_SETS)
    set(arg_SETS ${LARSEL_KERNEL_SETS})
  endif()
  foreach(set IN LISTS arg_SETS)
    list(FIND LARSEL_KERNEL_SETS ${set} level)
    if(level LESS 0)
      message(FATAL_ERROR "larsel_add_kernel_sources(${target}): ${set} is not one of ${LARSEL_KERNEL_SETS}")
    endif()
    list(GET arg_SOURCES 0 first)
    get_filename_component(stem ${first} NAME_WE)
    set(objects ${target}_${stem}_${set})
    add_library(${objects} OBJECT ${arg_SOURCES})
    target_compile_definitions(${objects} PRIVATE LARSEL_ISA=${set} LARSEL_ISA_LEVEL=${level})
    target_include_directories(${objects} PRIVATE ${arg_INCLUDES})
    # -Wno-psabi: vector arguments of a kernel's own functions never cross an ABI boundary.
    target_compile_options(${objects} PRIVATE -Wno-psabi)
    target_link_libraries(${objects} PRIVATE ${arg_LINK} larsel::core larsel_warnings)
    set_target_properties(${objects} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${objects}>)
    set_property(GLOBAL APPEND PROPERTY LARSEL_KERNEL_OBJECT_TARGETS ${objects})
  endforeach()
endfunction()

# After every module: a target building the per-ISA objects, their list in
# ${CMAKE_BINARY_DIR}/kernel-objects.txt (one path per line) for the isolation check,
# and their targets' names in kernel-object-targets.txt (tests/isolation/check-build-type.sh
# builds each alone, without the libraries they link, with `make <target>/fast`).
function(larsel_kernel_objects_target)
  get_property(targets GLOBAL PROPERTY LARSEL_KERNEL_OBJECT_TARGETS)
  add_custom_target(larsel_kernel_objects)
  set(paths "")
  foreach(t IN LISTS targets)
    add_dependencies(larsel_kernel_objects ${t})
    list(APPEND paths "$<TARGET_OBJECTS:${t}>")
  endforeach()
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/kernel-objects.txt CONTENT "$<JOIN:${paths},\n>\n")
  string(REPLACE ";" "\n" names "${targets}")
  file(WRITE ${CMAKE_BINARY_DIR}/kernel-object-targets.txt "${names}\n")
endfunction()
