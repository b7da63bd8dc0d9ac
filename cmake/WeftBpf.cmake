# The BPF build: vmlinux.h from the running kernel's BTF, each bpf/*.bpf.c
# compiled by clang for the BPF target, linked by `bpftool gen object` (which
# also strips DWARF), and turned into a libbpf skeleton header for C++.
find_program(WEFT_CLANG NAMES clang-14 clang REQUIRED)
find_program(WEFT_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
set(WEFT_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "Kernel BTF used to generate vmlinux.h")

set(WEFT_BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf/gen)
set(WEFT_VMLINUX_H ${WEFT_BPF_GEN_DIR}/vmlinux.h)
# weft_bpf_vmlinux(): the rule that makes vmlinux.h; call it in the directory
# whose targets use it (CMake resolves custom command outputs per directory).
function(weft_bpf_vmlinux)
  add_custom_command(
    OUTPUT ${WEFT_VMLINUX_H}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${WEFT_BPF_GEN_DIR}
    COMMAND ${WEFT_BPFTOOL} btf dump file ${WEFT_VMLINUX_BTF} format c > ${WEFT_VMLINUX_H}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${WEFT_VMLINUX_H}.tmp ${WEFT_VMLINUX_H}
    COMMENT "Generating vmlinux.h from ${WEFT_VMLINUX_BTF}"
    VERBATIM)
endfunction()

# weft_bpf_object(NAME SOURCE): builds ${NAME}.bpf.o and skeleton
# weft/bpf_skel/${NAME}.skel.h, collected in the interface target weft_bpf_skeletons.
function(weft_bpf_object name source)
  set(obj ${WEFT_BPF_GEN_DIR}/${name}.tmp.o)
  set(linked ${WEFT_BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${WEFT_BPF_GEN_DIR}/weft/bpf_skel/${name}.skel.h)
  file(GLOB_RECURSE bpf_headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bpf/*.h)
  add_custom_command(
    OUTPUT ${linked} ${skel}
    COMMAND ${WEFT_CLANG} -target bpf -g -O2 -D__TARGET_ARCH_x86 -Wall -Werror
            -I${WEFT_BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/bpf -I${CMAKE_SOURCE_DIR}/bpf/include
            -c ${source} -o ${obj}
    COMMAND ${WEFT_BPFTOOL} gen object ${linked} ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${WEFT_BPF_GEN_DIR}/weft/bpf_skel
    COMMAND ${WEFT_BPFTOOL} gen skeleton ${linked} name weft_${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${source} ${WEFT_VMLINUX_H} ${bpf_headers}
    COMMENT "BPF ${name}: compile, link, skeleton"
    VERBATIM)
  add_custom_target(bpf_${name} DEPENDS ${linked} ${skel})
  add_dependencies(weft_bpf_skeletons bpf_${name})
  set_property(GLOBAL APPEND PROPERTY WEFT_BPF_OBJECTS ${linked})
endfunction()
