# Shared build settings: warnings, sanitizer presets and sbx_add_module().

set(SBX_WARNINGS -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wno-missing-field-initializers
    # GCC 12 misreports Asio coroutine frames (awaitable_frame_base::operator delete).
    -Wno-mismatched-new-delete -Werror)

option(SBX_ASAN "Build with AddressSanitizer and UBSan" OFF)
option(SBX_TSAN "Build with ThreadSanitizer" OFF)
if(SBX_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(SBX_TSAN)
  # GCC 12 warns about Asio's atomic_thread_fence under TSan.
  add_compile_options(-fsanitize=thread -Wno-error=tsan)
  add_link_options(-fsanitize=thread)
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
  endif()
endfunction()
