# dlp_add_programs(): one executable per *.c file of the current
# source directory, named after the file (examples/mandelbrot.c ->
# build/examples/mandelbrot, target mandelbrot),
# linked to dlp_mpi and libm. New files are picked up at the next build
# (CONFIGURE_DEPENDS). Other files (shell, gnuplot scripts) are ignored.
function(dlp_add_programs)
  file(GLOB _sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.c")
  list(SORT _sources)
  set(_names)
  foreach(_src IN LISTS _sources)
    get_filename_component(_name "${_src}" NAME_WE)
    # Target names are global: on a clash (bench/gather.c and examples/gather.c)
    # the target gets the directory as prefix; the file name stays <name>.
    set(_target ${_name})
    if(TARGET ${_target})
      get_filename_component(_dirname "${CMAKE_CURRENT_SOURCE_DIR}" NAME)
      set(_target ${_dirname}_${_name})
    endif()
    add_executable(${_target} "${_src}")
    set_target_properties(${_target} PROPERTIES OUTPUT_NAME ${_name})
    target_link_libraries(${_target} PRIVATE dlp_mpi::dlp_mpi m)
    list(APPEND _names ${_name})
  endforeach()
  file(RELATIVE_PATH _dir "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  list(JOIN _names " " _names)
  message(STATUS "dlp_mpi: ${_dir}: ${_names}")
endfunction()
