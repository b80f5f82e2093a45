# Finds oneDNN (libdnnl) and defines the imported target rnnx::onednn. rnnx uses only its
# C sgemm (dnnl_sgemm) for float matrix products. The library is looked up directly: the
# Debian package's dnnl-config.cmake also requires OpenCL, which rnnx never uses. Included by
# the root CMakeLists.txt and, when rnnx was built with it, by the installed rnnxConfig.cmake.
if(NOT TARGET rnnx::onednn)
  find_path(RNNX_ONEDNN_INCLUDE_DIR NAMES oneapi/dnnl/dnnl.h)
  find_library(RNNX_ONEDNN_LIBRARY NAMES dnnl)
  include(FindPackageHandleStandardArgs)
  find_package_handle_standard_args(rnnxOneDNN REQUIRED_VARS RNNX_ONEDNN_LIBRARY RNNX_ONEDNN_INCLUDE_DIR)
  if(rnnxOneDNN_FOUND)
    add_library(rnnx::onednn INTERFACE IMPORTED)
    set_target_properties(rnnx::onednn PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${RNNX_ONEDNN_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${RNNX_ONEDNN_LIBRARY}")
  endif()
endif()
