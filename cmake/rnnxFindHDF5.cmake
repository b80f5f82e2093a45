# Finds the HDF5 C library and defines the imported target rnnx::hdf5. CMake's FindHDF5
# needs the C language enabled (it probes the h5cc wrapper), which rnnx and its CXX-only
# consumers do not enable, so the header and library are looked up directly (Debian/Ubuntu
# keep them under hdf5/serial; other layouts use the plain names). Included by the root
# CMakeLists.txt and by the installed rnnxConfig.cmake (static builds link HDF5).
if(NOT TARGET rnnx::hdf5)
  find_path(RNNX_HDF5_INCLUDE_DIR NAMES hdf5.h PATH_SUFFIXES hdf5/serial hdf5)
  find_library(RNNX_HDF5_LIBRARY NAMES hdf5_serial hdf5 PATH_SUFFIXES hdf5/serial)
  include(FindPackageHandleStandardArgs)
  find_package_handle_standard_args(rnnxHDF5 REQUIRED_VARS RNNX_HDF5_LIBRARY RNNX_HDF5_INCLUDE_DIR)
  if(rnnxHDF5_FOUND)
    add_library(rnnx::hdf5 INTERFACE IMPORTED)
    set_target_properties(rnnx::hdf5 PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${RNNX_HDF5_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${RNNX_HDF5_LIBRARY}")
  endif()
endif()
