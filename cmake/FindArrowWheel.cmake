# Finds Arrow C++ inside a pyarrow wheel (the wheels ship headers and shared
# libraries but no CMake package files) and defines IMPORTED targets:
#   Arrow::arrow, Arrow::compute, Arrow::acero, Arrow::parquet, Arrow::dataset
# Inputs: ARROW_WHEEL_PYTHON (a python with pyarrow), default .venv/bin/python.
# Never links arrow_python: Sluice does not embed Python.

if(NOT ARROW_WHEEL_PYTHON)
  set(ARROW_WHEEL_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python")
endif()
execute_process(
  COMMAND "${ARROW_WHEEL_PYTHON}" -c
          "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__)"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow not found via ${ARROW_WHEEL_PYTHON}: run scripts/bootstrap first")
endif()
string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
list(GET _pa_lines 0 ARROW_INCLUDE_DIR)
list(GET _pa_lines 1 ARROW_LIB_DIR)
list(GET _pa_lines 2 ARROW_VERSION)
string(REGEX MATCH "^[0-9]+" _arrow_major "${ARROW_VERSION}")
set(_so_suffix "${_arrow_major}00")

function(_sluice_arrow_lib target libname)
  set(_path "${ARROW_LIB_DIR}/lib${libname}.so.${_so_suffix}")
  if(NOT EXISTS "${_path}")
    if(ARGV2)
      return()
    endif()
    message(FATAL_ERROR "Arrow library ${_path} not found in the pyarrow wheel")
  endif()
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${_path}"
    INTERFACE_INCLUDE_DIRECTORIES "${ARROW_INCLUDE_DIR}"
    # The wheel is built with the new C++ ABI, like Debian's g++ default.
    INTERFACE_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=1")
endfunction()

_sluice_arrow_lib(Arrow::arrow arrow)
_sluice_arrow_lib(Arrow::compute arrow_compute OPTIONAL)
_sluice_arrow_lib(Arrow::acero arrow_acero)
_sluice_arrow_lib(Arrow::parquet parquet)
_sluice_arrow_lib(Arrow::dataset arrow_dataset)
if(TARGET Arrow::compute)
  set_property(TARGET Arrow::compute PROPERTY INTERFACE_LINK_LIBRARIES Arrow::arrow)
  set_property(TARGET Arrow::acero PROPERTY INTERFACE_LINK_LIBRARIES Arrow::compute)
else()
  set_property(TARGET Arrow::acero PROPERTY INTERFACE_LINK_LIBRARIES Arrow::arrow)
endif()
set_property(TARGET Arrow::parquet PROPERTY INTERFACE_LINK_LIBRARIES Arrow::arrow)
set_property(TARGET Arrow::dataset PROPERTY INTERFACE_LINK_LIBRARIES Arrow::parquet Arrow::acero)
# Every binary linking these finds them again at run time without LD_LIBRARY_PATH.
set(CMAKE_BUILD_RPATH "${ARROW_LIB_DIR}")
set(ARROW_LIB_DIR "${ARROW_LIB_DIR}")
set(ArrowWheel_FOUND TRUE)
message(STATUS "Arrow ${ARROW_VERSION} from pyarrow wheel: ${ARROW_LIB_DIR}")
