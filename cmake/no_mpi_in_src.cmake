# src/ is the single-process library (oo_core): no file under OO_SRC_DIR may include <mpi.h> or
# call an MPI_ function. Run at configure time (include() from CMakeLists.txt, which fails the
# configure step) and by the ctest src_has_no_mpi (cmake -DOO_SRC_DIR=... -P this file), which
# also catches an edit made after configuring. Comments naming MPI_Init and the like are fine:
# only an #include of mpi.h or an identifier MPI_Xxx followed by '(' counts.
# oo_no_mpi_link(target): fails the configure step if target links MPI or ScaLAPACK, directly or
# through any target it links (INTERFACE_LINK_LIBRARIES, recursively). Called on oo_core.
function(oo_no_mpi_link tgt)
  get_target_property(libs ${tgt} LINK_LIBRARIES)
  set(todo ${libs})
  set(seen "")
  while(todo)
    list(POP_FRONT todo item)
    if(item MATCHES "MPI::|libmpi|mpi_c|scalapack")
      message(FATAL_ERROR "${tgt} links ${item}: src/ must link no MPI (issue #13)")
    endif()
    if(TARGET ${item} AND NOT item IN_LIST seen)
      list(APPEND seen ${item})
      get_target_property(more ${item} INTERFACE_LINK_LIBRARIES)
      if(more)
        list(APPEND todo ${more})
      endif()
    endif()
  endwhile()
endfunction()

if(NOT OO_SRC_DIR)
  message(FATAL_ERROR "no_mpi_in_src.cmake: set OO_SRC_DIR to the src/ directory")
endif()
file(GLOB_RECURSE oo_src_files ${OO_SRC_DIR}/*.c ${OO_SRC_DIR}/*.h)
set(oo_mpi_offenders "")
foreach(f ${oo_src_files})
  file(STRINGS ${f} hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]mpi\\.h[>\"]|(^|[^A-Za-z0-9_])MPI_[A-Za-z0-9_]+[ \t]*\\(")
  foreach(h ${hits})
    string(STRIP "${h}" h)
    list(APPEND oo_mpi_offenders "${f}: ${h}")
  endforeach()
endforeach()
if(oo_mpi_offenders)
  list(JOIN oo_mpi_offenders "\n  " oo_mpi_text)
  message(FATAL_ERROR "src/ must stay single-process (oo_core links no MPI; issue #13), but:\n  ${oo_mpi_text}\n"
                      "Move the MPI part into mpi/ and pass its result to src/.")
endif()
