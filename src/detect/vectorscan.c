#include "detect/vectorscan.h"

CS_LAZY_DEFINE(cs_hs, CS_SONAME_HS, CS_HS_FUNCS)

void cs_hs_free_database(hs_database_t *db)
{
    if (db)
        cs_hs.hs_free_database(db);
}

void cs_hs_free_scratch(hs_scratch_t *s)
{
    if (s)
        cs_hs.hs_free_scratch(s);
}
