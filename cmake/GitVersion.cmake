# Records the git commit the binary is built from (credwatch version prints it).
find_package(Git QUIET)
set(CREDWATCH_GIT_COMMIT "unknown")
if(GIT_FOUND)
  execute_process(
    COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    OUTPUT_VARIABLE git_commit
    OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_QUIET
    RESULT_VARIABLE git_result)
  if(git_result EQUAL 0 AND git_commit)
    set(CREDWATCH_GIT_COMMIT ${git_commit})
  endif()
endif()
