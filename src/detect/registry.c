/* The one list of detectors. Later layers (Authenticode, similarity,
 * advisories) add a line here and nothing else in the engine. */
#include "detect/detector.h"

extern const cs_detector_ops cs_filename_detector;
extern const cs_detector_ops cs_hash_detector;
extern const cs_detector_ops cs_yara_detector;
extern const cs_detector_ops cs_c2_detector;
extern const cs_detector_ops cs_authenticode_detector;
extern const cs_detector_ops cs_advisory_detector;
extern const cs_detector_ops cs_integrity_detector;
extern const cs_detector_ops cs_codesign_detector;
extern const cs_detector_ops cs_similarity_detector;

const cs_detector_ops *const cs_detectors[] = {
    &cs_filename_detector, /* path only: runs even on files too large to read */
    &cs_hash_detector,     /* first content detector: known-good stops the rest */
    &cs_yara_detector,
    &cs_c2_detector,
    &cs_authenticode_detector, /* every PE: signature tampering, signer lists */
    &cs_codesign_detector,     /* every Mach-O: code signature tampering */
    &cs_advisory_detector,     /* product and version against advisories */
    &cs_integrity_detector,    /* members against the hashes their container records */
    &cs_similarity_detector,   /* TLSH near known-bad files */
};

const size_t cs_detector_count = sizeof cs_detectors / sizeof *cs_detectors;
