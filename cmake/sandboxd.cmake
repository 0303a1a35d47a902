# Shared build settings: warnings, sanitizer presets and sbx_add_module().

set(SBX_WARNINGS -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wno-missing-field-initializers
    # GCC 12 misreports Asio coroutine frames (awaitable_frame_base::operator delete).
    -Wno-mismatched-new-delete -Werror)

option(SBX_ASAN "Build with AddressSanitizer and UBSan" OFF)
option(SBX_TSAN "Build with ThreadSanitizer" OFF)
if(SBX_ASAN)
  # Any UBSan report aborts the test that triggered it, also when a test
  # binary runs without UBSAN_OPTIONS=halt_on_error=1. The vptr check is off:
  # it reports objects whose vtables live in Debian's uninstrumented libspdlog
  # and libfmt (their loggers and format buffers) as having "invalid vptr", a
  # false positive for classes built in another shared library, and those
  # reports did not stop the test even with halt_on_error=1.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize=vptr)
endif()
if(SBX_TSAN)
  # GCC 12 warns about Asio's atomic_thread_fence under TSan.
  add_compile_options(-fsanitize=thread -Wno-error=tsan)
  add_link_options(-fsanitize=thread)
endif()

# The libFuzzer build (fuzz/, `make fuzz`): clang only, its own build
# directory. Every library is instrumented for coverage and built with ASan and
# UBSan (any UBSan report aborts, so the fuzzer sees it as a crash); only the
# fuzz targets link libFuzzer's main (sbx_add_fuzzer in fuzz/CMakeLists.txt).
option(SBX_FUZZ "Build the libFuzzer targets in fuzz/ (clang, ASan + UBSan)" OFF)
if(SBX_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SBX_FUZZ needs clang (-DCMAKE_CXX_COMPILER=clang++-16)")
  endif()
  if(SBX_ASAN OR SBX_TSAN)
    message(FATAL_ERROR "SBX_FUZZ brings its own sanitizers: leave SBX_ASAN/SBX_TSAN off")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# sbx_add_module(name SOURCES ... DEPS ... [TESTS ...] [TEST_DEPS ...])
# Builds the static library sbx_<name> and, when TESTS are given, the
# GoogleTest binary sbx_<name>_tests labelled `unit`, linked with the
# test-only sbx_base_testing (FakeClock, RunSync).
function(sbx_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;TESTS;TEST_DEPS" ${ARGN})
  add_library(sbx_${name} STATIC ${ARG_SOURCES})
  target_include_directories(sbx_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(sbx_${name} PRIVATE ${SBX_WARNINGS})
  target_link_libraries(sbx_${name} PUBLIC ${ARG_DEPS})
  if(ARG_TESTS)
    add_executable(sbx_${name}_tests ${ARG_TESTS})
    target_compile_options(sbx_${name}_tests PRIVATE ${SBX_WARNINGS})
    target_compile_definitions(sbx_${name}_tests PRIVATE
      SBX_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/tests/testdata")
    target_link_libraries(sbx_${name}_tests PRIVATE sbx_${name} ${ARG_TEST_DEPS}
      sbx_base_testing GTest::gtest GTest::gmock GTest::gtest_main)
    gtest_discover_tests(sbx_${name}_tests PROPERTIES LABELS unit DISCOVERY_TIMEOUT 30)
    # Every unit test binary and nothing else (`make test-sanitize`).
    if(NOT TARGET sbx_unit_tests)
      add_custom_target(sbx_unit_tests)
    endif()
    add_dependencies(sbx_unit_tests sbx_${name}_tests)
  endif()
endfunction()

# sbx_forbid_links(<target> LIBS <name>...)
# A layering rule the build keeps: at the end of configuration, when every
# target exists, configuration fails if any of LIBS is in <target>'s link
# closure: its LINK_LIBRARIES and INTERFACE_LINK_LIBRARIES, followed through
# every target they name (aliases included; $<LINK_ONLY:x>, a static
# library's private x, counts as x; other generator expressions are not
# evaluated and are skipped). A `*` in a name matches any run of characters
# (`sbx_store*`). The message shows the chain of links that breaks the rule.
function(sbx_forbid_links target)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  if(NOT ARG_LIBS)
    message(FATAL_ERROR "sbx_forbid_links(${target}): LIBS is empty")
  endif()
  set_property(GLOBAL APPEND PROPERTY SBX_LINK_RULE_TARGETS "${target}")
  set_property(GLOBAL PROPERTY "SBX_LINK_RULE_${target}" "${ARG_LIBS}")
  set_property(GLOBAL PROPERTY "SBX_LINK_RULE_DIR_${target}" "${CMAKE_CURRENT_SOURCE_DIR}")
  get_property(deferred GLOBAL PROPERTY SBX_LINK_RULES_DEFERRED)
  if(NOT deferred)
    set_property(GLOBAL PROPERTY SBX_LINK_RULES_DEFERRED TRUE)
    cmake_language(DEFER DIRECTORY "${PROJECT_SOURCE_DIR}" CALL _sbx_check_link_rules)
  endif()
endfunction()

# Sets <out> to the chains "<root> -> … -> <lib>" that reach a library
# matching one of <patterns> from <root> (breadth first: the shortest chain).
function(_sbx_forbidden_chains root patterns out)
  set(regexes "")
  foreach(pattern IN LISTS patterns)
    string(REGEX REPLACE "([][+.?()^$|\\\\])" "\\\\\\1" regex "${pattern}")
    string(REPLACE "*" ".*" regex "${regex}")
    list(APPEND regexes "^${regex}$")
  endforeach()
  set(chains "")
  set(seen "${root}")
  set(queue "${root}")
  string(MAKE_C_IDENTIFIER "${root}" root_id)
  set("chain_${root_id}" "${root}")
  while(queue)
    list(POP_FRONT queue current)
    string(MAKE_C_IDENTIFIER "${current}" current_id)
    if(NOT TARGET "${current}")
      continue()
    endif()
    set(deps "")
    foreach(property ALIASED_TARGET LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(value "${current}" ${property})
      if(value)
        list(APPEND deps ${value})
      endif()
    endforeach()
    foreach(dep IN LISTS deps)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.+)>$" "\\1" dep "${dep}")
      # Skip other generator expressions and the "::@(dir)" scope markers
      # target_link_libraries() leaves when called from another directory.
      if(dep STREQUAL "" OR dep MATCHES "^\\$<" OR dep MATCHES "^::@" OR dep IN_LIST seen)
        continue()
      endif()
      list(APPEND seen "${dep}")
      list(APPEND queue "${dep}")
      string(MAKE_C_IDENTIFIER "${dep}" dep_id)
      set("chain_${dep_id}" "${chain_${current_id}} -> ${dep}")
      foreach(regex IN LISTS regexes)
        if(dep MATCHES "${regex}")
          list(APPEND chains "${chain_${dep_id}}")
          break()
        endif()
      endforeach()
    endforeach()
  endwhile()
  set(${out} "${chains}" PARENT_SCOPE)
endfunction()

# Runs every sbx_forbid_links() rule (deferred to the end of configuration).
function(_sbx_check_link_rules)
  get_property(targets GLOBAL PROPERTY SBX_LINK_RULE_TARGETS)
  set(errors "")
  foreach(target IN LISTS targets)
    get_property(patterns GLOBAL PROPERTY "SBX_LINK_RULE_${target}")
    get_property(dir GLOBAL PROPERTY "SBX_LINK_RULE_DIR_${target}")
    if(NOT TARGET "${target}")
      string(APPEND errors "\n  ${target}: no such target (rule in ${dir})")
      continue()
    endif()
    _sbx_forbidden_chains("${target}" "${patterns}" chains)
    foreach(chain IN LISTS chains)
      string(APPEND errors "\n  ${chain}")
    endforeach()
    if(chains)
      string(REPLACE ";" " " forbidden "${patterns}")
      string(APPEND errors "\n    (${dir}/CMakeLists.txt forbids ${target} to link: ${forbidden})")
    endif()
  endforeach()
  if(errors)
    message(FATAL_ERROR "Link layering broken: these targets link what they must not:${errors}")
  endif()
endfunction()
