#define _GNU_SOURCE /* strcasestr */
/* The Authenticode layer of a scan: every PE is verified (structure,
 * digests, signatures; the chain too when anchors were given) and each
 * finding becomes a reason with its score. Signer lists from packs
 * (signers.txt) flag certificates known to have signed malware. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/authenticode.h"
#include "detect/detector.h"
#include "util/guard.h"
#include "view/source.h"
#include "format/ioc.h"
#include "format/macho.h"

typedef struct signer_ioc {
    char serial[80];          /* "" for a team line */
    char team[32];            /* an Apple Team ID, or "" */
    char *issuer;
    char thumbprint[65];
    int score;
    char *description;
} signer_ioc;

typedef struct ac_state {
    signer_ioc *signers;
    size_t n, cap;
} ac_state;

static void *ac_create(void)
{
    return calloc(1, sizeof(ac_state));
}

static void ac_destroy(void *st)
{
    ac_state *s = st;
    for (size_t i = 0; i < s->n; i++) {
        free(s->signers[i].issuer);
        free(s->signers[i].description);
    }
    free(s->signers);
    free(s);
}

static int ac_claims(const char *basename)
{
    return cs_ioc_classify(basename) == CS_IOC_SIGNERS;
}

static int load_line(void *ud, char *line, const char *comment, const char **why)
{
    ac_state *s = ud;
    cs_signer_line sl;
    int rc = cs_parse_signer_line(line, &sl, why);
    if (rc != CS_LINE_OK)
        return rc;
    cs_grow((void **)&s->signers, &s->cap, s->n + 1, sizeof *s->signers);
    signer_ioc *x = &s->signers[s->n++];
    memcpy(x->serial, sl.serial, sizeof x->serial);
    memcpy(x->team, sl.team, sizeof x->team);
    memcpy(x->thumbprint, sl.thumbprint, sizeof x->thumbprint);
    x->issuer = cs_strdup(sl.issuer);
    x->score = sl.score;
    x->description = cs_strdup(*sl.description ? sl.description : comment);
    return CS_LINE_OK;
}

static cs_status ac_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    return cs_load_lines(e, pf, load_line, st, NULL, err);
}

static int ac_active(const void *st)
{
    (void)st;
    return 1; /* the tamper checks need no pack content */
}

static int ac_loaded(const void *st)
{
    return ((const ac_state *)st)->n > 0;
}

static void ac_stats(const void *st, cs_load_stats *out)
{
    out->signers += ((const ac_state *)st)->n;
}

static int signer_matches(const signer_ioc *x, const cs_ac_cert *c)
{
    char serial[80];
    if (x->team[0])
        return 0; /* an Apple Team ID: matched against Mach-O signatures */
    if (cs_serial_normalize(c->serial, serial, sizeof serial) != 0 || strcmp(serial, x->serial) != 0)
        return 0;
    if (*x->issuer && !strcasestr(c->issuer, x->issuer))
        return 0;
    if (*x->thumbprint && strcmp(x->thumbprint, strlen(x->thumbprint) == 40 ? c->sha1 : c->sha256) != 0)
        return 0;
    return 1;
}

static void match_signers(const ac_state *s, const cs_ac_report *rep, cs_findings *out)
{
    for (size_t i = 0; i < rep->n_signatures; i++) {
        const cs_ac_signature *sig = &rep->signatures[i];
        for (size_t k = 0; sig->has_signer && k < s->n; k++) {
            if (!signer_matches(&s->signers[k], &sig->signer))
                continue;
            cs_buf b = {0};
            cs_buf_printf(&b, "%s (signer %s, serial %s)", s->signers[k].description, sig->signer.subject,
                          sig->signer.serial);
            cs_findings_add(out, "signer", cs_arena_strdup(out->arena, sig->signer.serial),
                            cs_arena_strdup(out->arena, b.data), s->signers[k].score);
            cs_buf_free(&b);
        }
    }
}

static cs_status ac_scan_pe(const ac_state *s, cs_file *f, cs_findings *out, cs_error *err)
{
    const cs_ac_report *rep = cs_file_signature(f, err);
    if (!rep) /* not a PE, unsigned, or no memory (err says which) */
        return err->code == CS_OK ? CS_OK : err->code;
    for (size_t i = 0; i < rep->n_findings; i++) {
        const cs_ac_finding *fi = &rep->findings[i];
        cs_buf b = {0};
        cs_buf_printf(&b, "%s: %s", cs_ac_issue_description(fi->issue), fi->detail);
        cs_findings_add(out, "authenticode", cs_ac_issue_name(fi->issue), cs_arena_strdup(out->arena, b.data),
                        cs_ac_issue_score(fi->issue));
        cs_buf_free(&b);
    }
    match_signers(s, rep, out);
    return CS_OK;
}

/* A signer line names a Mach-O slice's signer by its certificate (serial,
 * issuer, thumbprint, as for Authenticode) or by its Team ID (the
 * certificate's OU or, unsigned by a certificate, the CodeDirectory's). */
static void match_macho_signers(const ac_state *s, const cs_mc_report *mc, cs_findings *out)
{
    for (size_t i = 0; i < mc->n_slices; i++) {
        const cs_mc_slice *sl = &mc->slices[i];
        const char *team = sl->signer_team[0] ? sl->signer_team : sl->n_cds ? sl->cds[0].team_id : "";
        for (size_t k = 0; k < s->n; k++) {
            const signer_ioc *x = &s->signers[k];
            int hit = x->team[0] ? *team && strcmp(x->team, team) == 0 : sl->has_signer && signer_matches(x, &sl->signer);
            if (!hit)
                continue;
            cs_buf b = {0};
            if (x->team[0])
                cs_buf_printf(&b, "%s (%s Team ID %s%s%s)", x->description, sl->arch, team,
                              sl->has_signer ? ", signer " : "", sl->has_signer ? sl->signer.subject : "");
            else
                cs_buf_printf(&b, "%s (%s signer %s, serial %s)", x->description, sl->arch, sl->signer.subject,
                              sl->signer.serial);
            cs_findings_add(out, "signer", cs_arena_strdup(out->arena, x->team[0] ? team : sl->signer.serial),
                            cs_arena_strdup(out->arena, b.data), x->score);
            cs_buf_free(&b);
        }
    }
}

static cs_status ac_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    ac_state *s = st;
    (void)ts;
    /* a thin Mach-O (a universal file's slices arrive as its members) */
    if (s->n && f->data && cs_macho_is_thin(f->data, f->size)) {
        const cs_mc_report *mc = cs_file_codesign(f, err);
        if (!mc)
            return err->code == CS_OK ? CS_OK : err->code;
        match_macho_signers(s, mc, out);
        return CS_OK;
    }
    return ac_scan_pe(s, f, out, err);
}


const cs_detector_ops cs_authenticode_detector = {
    .name = "authenticode",
    .needs_content = 1,
    .create = ac_create,
    .destroy = ac_destroy,
    .claims = ac_claims,
    .load = ac_load,
    .active = ac_active,
    .loaded = ac_loaded,
    .stats = ac_stats,
    .scan = ac_scan,
};

static void source_release(void *ud, const unsigned char *p, size_t len)
{
    cs_source_release(ud, p, len);
}

typedef struct verify_args {
    const cs_trust *trust;
    time_t now;
    cs_ac_report **out;
} verify_args;

static cs_status verify_mapped(cs_source *src, const unsigned char *d, size_t n, void *ud, cs_error *err)
{
    verify_args *a = ud;
    return cs_authenticode_verify_mapped(d, n, source_release, src, a->trust, a->now, a->out, err);
}

cs_status cs_authenticode_verify_path(const char *path, const cs_trust *trust, time_t now, cs_ac_report **out,
                                      cs_error *err)
{
    *out = NULL;
    verify_args a = {trust, now, out};
    cs_status rc = cs_source_map_path(path, verify_mapped, &a, err);
    if (rc != CS_OK)
        *out = NULL; /* a partial report from a fault is dropped (leaked: bounded, once per event) */
    return rc;
}
