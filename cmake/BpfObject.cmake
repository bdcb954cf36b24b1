# Turns bpf/<family>.bpf.c into <family>.bpf.o and a libbpf skeleton <family>.skel.h (bpftool gen skeleton).
# credwatch_bpf_skeletons(TARGET <name> SOURCES a.bpf.c b.bpf.c ...) creates an interface target that
# userspace links to get the generated skeleton headers on its include path.

find_program(CLANG_EXE NAMES clang REQUIRED)
find_program(BPFTOOL_EXE NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(CREDWATCH_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH
    "BTF of the kernel whose type layout vmlinux.h describes (CO-RE relocates to the running kernel at load)")

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(CREDWATCH_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(CREDWATCH_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "credwatch: no BPF target arch for ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(credwatch_bpf_skeletons)
  cmake_parse_arguments(ARG "" "TARGET" "SOURCES;DEPENDS" ${ARGN})
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${gen_dir})

  if(NOT EXISTS ${CREDWATCH_VMLINUX_BTF})
    message(FATAL_ERROR "credwatch: ${CREDWATCH_VMLINUX_BTF} is missing; the build needs a kernel with "
                        "CONFIG_DEBUG_INFO_BTF=y or -DCREDWATCH_VMLINUX_BTF=<file with BTF>")
  endif()
  add_custom_command(
    OUTPUT ${gen_dir}/vmlinux.h
    COMMAND ${BPFTOOL_EXE} btf dump file ${CREDWATCH_VMLINUX_BTF} format c > ${gen_dir}/vmlinux.h
    COMMENT "Generating vmlinux.h from ${CREDWATCH_VMLINUX_BTF}"
    VERBATIM)

  set(headers)
  foreach(src ${ARG_SOURCES})
    get_filename_component(family ${src} NAME_WE)
    set(obj ${gen_dir}/${family}.bpf.o)
    set(skel ${gen_dir}/${family}.skel.h)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${CLANG_EXE} -g -O2 -target bpf -D__TARGET_ARCH_${CREDWATCH_BPF_ARCH} -Wall -Werror
              -I${gen_dir} -I${CMAKE_CURRENT_SOURCE_DIR} -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${obj}
      DEPENDS ${src} ${gen_dir}/vmlinux.h ${ARG_DEPENDS}
      COMMENT "Compiling BPF ${src}"
      VERBATIM)
    add_custom_command(
      OUTPUT ${skel}
      COMMAND ${BPFTOOL_EXE} gen skeleton ${obj} name ${family}_bpf > ${skel}
      DEPENDS ${obj}
      COMMENT "Generating skeleton ${family}.skel.h"
      VERBATIM)
    list(APPEND headers ${skel})
  endforeach()

  add_custom_target(${ARG_TARGET}_gen DEPENDS ${headers})
  add_library(${ARG_TARGET} INTERFACE)
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_gen)
  target_include_directories(${ARG_TARGET} INTERFACE ${gen_dir} ${CMAKE_CURRENT_SOURCE_DIR})
endfunction()
