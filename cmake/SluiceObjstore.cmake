# Builds rust/sluice_objstore (conditional writes on S3/GCS/Azure through the
# object_store crate) with cargo and defines the IMPORTED target
# Sluice::objstore (a static library with a C ABI, src/sluice/io/objstore_ffi.h).
# Crates come from crates.io into CARGO_HOME (default ~/.cargo, outside the
# repository); the build output goes to SLUICE_CARGO_TARGET_DIR (default:
# ~/.cache/sluice/cargo-target, shared by every build directory and clone like
# ccache's cache, so `make test`'s normal, sanitizer and fuzz builds compile
# the crate once; cargo locks the directory while it builds).

find_program(CARGO_EXECUTABLE cargo HINTS "$ENV{HOME}/.cargo/bin" REQUIRED)
set(SLUICE_CARGO_TARGET_DIR "$ENV{HOME}/.cache/sluice/cargo-target" CACHE PATH
    "cargo target directory for rust/sluice_objstore")
set(_os_crate "${CMAKE_SOURCE_DIR}/rust/sluice_objstore")
set(_os_lib "${SLUICE_CARGO_TARGET_DIR}/release/libsluice_objstore.a")
file(GLOB_RECURSE _os_sources CONFIGURE_DEPENDS "${_os_crate}/src/*.rs")

add_custom_command(
  OUTPUT "${_os_lib}"
  COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${SLUICE_CARGO_TARGET_DIR}
          ${CARGO_EXECUTABLE} build --release --quiet --locked
          --manifest-path "${_os_crate}/Cargo.toml"
  DEPENDS ${_os_sources} "${_os_crate}/Cargo.toml" "${_os_crate}/Cargo.lock"
  COMMENT "cargo build rust/sluice_objstore"
  USES_TERMINAL
  VERBATIM)
add_custom_target(sluice_objstore_cargo DEPENDS "${_os_lib}")

add_library(Sluice::objstore STATIC IMPORTED GLOBAL)
set_target_properties(Sluice::objstore PROPERTIES
  IMPORTED_LOCATION "${_os_lib}"
  INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
add_dependencies(Sluice::objstore sluice_objstore_cargo)
