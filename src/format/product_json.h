/* A product (what a file says it is) as JSON and back: the report's
 * "product" object, the inventory rows and the state store share it. */
#ifndef CS_FORMAT_PRODUCT_JSON_H
#define CS_FORMAT_PRODUCT_JSON_H

#include <jansson.h>

#include "chainsweep/chainsweep.h"
#include "util/util.h"

/* A product as a new JSON object. */
json_t *cs_json_product(const cs_product *p);
/* A product read back into the arena: 0, or -1 when the object is not a
 * product. */
int cs_product_from_json(json_t *j, cs_arena *a, cs_product *out);

#endif
