#include "unpack/unpack.h"

extern const cs_unpacker_ops cs_unpacker_msi, cs_unpacker_archive, cs_unpacker_pe_overlay, cs_unpacker_macho_fat,
    cs_unpacker_asar, cs_unpacker_pbzx, cs_unpacker_dmg, cs_unpacker_unsupported;

/* MSI first (an OLE file with cabinets); Apple disk images (by their
 * trailer: a compressed image starts with its first chunk's bzip2 or xz
 * stream); archives by magic; a PE's appended archive; a universal
 * Mach-O's slices; Electron asar archives; pbzx Payloads of flat packages;
 * then what is recognised but not read (noted). */
const cs_unpacker_ops *const cs_unpackers[] = {
    &cs_unpacker_msi,
    &cs_unpacker_dmg,
    &cs_unpacker_archive,
    &cs_unpacker_pe_overlay,
    &cs_unpacker_macho_fat,
    &cs_unpacker_asar,
    &cs_unpacker_pbzx,
    &cs_unpacker_unsupported,
};
const size_t cs_unpacker_count = sizeof cs_unpackers / sizeof *cs_unpackers;
