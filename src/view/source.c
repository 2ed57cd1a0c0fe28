#define _GNU_SOURCE
#include "view/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chainsweep/codesign.h"
#include "util/guard.h"
#include "util/util.h"

static const unsigned char no_bytes[1];

void cs_source_ref(cs_source *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void cs_source_unref(cs_source *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        s->methods->close(s);
}

static void source_init(cs_source *s, const cs_source_methods *m)
{
    s->methods = m;
    atomic_init(&s->refs, 1);
    memset(&s->meta, 0, sizeof s->meta);
}

/* ---- a real file ---- */

typedef struct file_source {
    cs_source base;
    int fd, dirfd;
    const unsigned char *map;
    size_t map_len;
    int map_owned;             /* map is a buffer read into, not a mapping */
} file_source;

/* Files up to this size are read into a buffer rather than mapped: for a
 * small file the mapping costs more than the copy (mmap, page faults, and
 * munmap's TLB shootdown across the workers' CPUs). */
#define CS_READ_MAX (128 * 1024)

static ssize_t file_read_at(cs_source *s, void *buf, size_t len, uint64_t off)
{
    file_source *f = (file_source *)s;
    ssize_t r;
    do
        r = pread(f->fd, buf, len, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r;
}

static const unsigned char *file_map(cs_source *s, cs_error *err)
{
    file_source *f = (file_source *)s;
    if (f->map)
        return f->map;
    if (s->meta.size == 0)
        return no_bytes;
    if (s->meta.size > SIZE_MAX) {
        cs_error_set(err, CS_ERR_IO, "cannot map: too large for this address space");
        return NULL;
    }
    if (s->meta.size <= CS_READ_MAX) {
        size_t n = (size_t)s->meta.size, got = 0;
        unsigned char *buf = malloc(n);
        if (!buf) {
            cs_error_set(err, CS_ERR_NOMEM, "out of memory");
            return NULL;
        }
        while (got < n) {
            ssize_t r = file_read_at(s, buf + got, n - got, got);
            if (r <= 0) {
                cs_error_set(err, CS_ERR_IO, r < 0 ? "cannot read: %s" : "%s", r < 0 ? strerror(errno)
                                                                              : "the file shrank while it was read");
                free(buf);
                return NULL;
            }
            got += (size_t)r;
        }
        f->map = buf;
        f->map_len = n;
        f->map_owned = 1;
        return f->map;
    }
    void *p = mmap(NULL, (size_t)s->meta.size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (p == MAP_FAILED) {
        cs_error_set(err, CS_ERR_IO, "cannot map: %s", strerror(errno));
        return NULL;
    }
    madvise(p, (size_t)s->meta.size, MADV_SEQUENTIAL);
    f->map = p;
    f->map_len = (size_t)s->meta.size;
    return f->map;
}

/* Open relpath under dirfd one component at a time, never through a
 * symbolic link (O_NOFOLLOW on the last component only would still follow
 * a linked directory on the way: a hostile bundle's "Resources" -> "/"). */
static int openat_no_links(int dirfd, const char *relpath)
{
    char comp[256];
    int cur = dirfd;
    const char *p = relpath;
    for (;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof comp) {
            errno = ENOENT;
            break;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int last = p[n] == '\0';
        int flags = last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
                         : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int fd = openat(cur, comp, flags);
        int e = errno;
        if (cur != dirfd)
            close(cur);
        errno = e;
        if (fd < 0 || last)
            return fd;
        cur = fd;
        p += n + 1;
    }
    if (cur != dirfd)
        close(cur);
    return -1;
}

static cs_status file_open_related(cs_source *s, const char *relpath, cs_source **out, cs_error *err)
{
    file_source *f = (file_source *)s;
    if (f->dirfd < 0)
        return cs_error_set(err, CS_ERR_IO, "%s: no directory to look in", relpath);
    int fd = openat_no_links(f->dirfd, relpath);
    if (fd < 0)
        return cs_error_set(err, CS_ERR_IO, "%s: %s", relpath, strerror(errno));
    return cs_source_file(fd, -1, out, err);
}

static void file_close(cs_source *s)
{
    file_source *f = (file_source *)s;
    if (f->map && f->map_owned)
        free((void *)f->map);
    else if (f->map)
        munmap((void *)f->map, f->map_len);
    close(f->fd);
    if (f->dirfd >= 0)
        close(f->dirfd);
    free(f);
}

static void mapped_file_release(cs_source *s, const unsigned char *p, size_t len)
{
    if (((file_source *)s)->map_owned)
        return; /* a small buffer: dropping its pages would drop its bytes */
    cs_file_mapping_release(p, len);
}

static const cs_source_methods file_methods = {
    CS_SOURCE_METHODS_VERSION, "file", file_read_at, file_map, file_open_related, file_close, mapped_file_release,
};

void cs_meta_from_stat(const struct stat *st, cs_meta *m)
{
    memset(m, 0, sizeof *m);
    m->size = (uint64_t)st->st_size;
    m->mtime = (int64_t)st->st_mtime;
    m->has_owner = 1;
    m->uid = st->st_uid;
    m->gid = st->st_gid;
    m->mode = st->st_mode;
    m->has_identity = 1;
    m->dev = (uint64_t)st->st_dev;
    m->ino = (uint64_t)st->st_ino;
    m->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    m->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

cs_status cs_source_file(int fd, int dirfd, cs_source **out, cs_error *err)
{
    struct stat st;
    file_source *f = NULL;
    cs_status rc;
    *out = NULL;
    if (fstat(fd, &st) != 0)
        rc = cs_error_set(err, CS_ERR_IO, "cannot stat: %s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = cs_error_set(err, CS_ERR_ARG, "not a regular file");
    else if (!(f = calloc(1, sizeof *f)))
        rc = cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    else
        rc = CS_OK;
    if (rc != CS_OK) { /* the descriptors are ours also on failure */
        close(fd);
        if (dirfd >= 0)
            close(dirfd);
        return rc;
    }
    source_init(&f->base, &file_methods);
    f->fd = fd;
    f->dirfd = dirfd;
    cs_meta_from_stat(&st, &f->base.meta);
    *out = &f->base;
    return CS_OK;
}

/* ---- bytes in memory ---- */

typedef struct memory_source {
    cs_source base;
    const unsigned char *data;
    int own;
} memory_source;

static ssize_t memory_read_at(cs_source *s, void *buf, size_t len, uint64_t off)
{
    const unsigned char *d = cs_source_map(s, NULL);
    if (off >= s->meta.size)
        return 0;
    if (len > s->meta.size - off)
        len = (size_t)(s->meta.size - off);
    memcpy(buf, d + off, len);
    return (ssize_t)len;
}

static const unsigned char *memory_map(cs_source *s, cs_error *err)
{
    (void)err;
    memory_source *m = (memory_source *)s;
    return m->data ? m->data : no_bytes;
}

static void memory_close(cs_source *s)
{
    memory_source *m = (memory_source *)s;
    if (m->own)
        free((void *)m->data);
    free(m);
}

static const cs_source_methods memory_methods = {
    CS_SOURCE_METHODS_VERSION, "memory", memory_read_at, memory_map, NULL, memory_close, NULL,
};

cs_status cs_source_memory(const void *data, size_t len, int own, cs_source **out, cs_error *err)
{
    memory_source *m = calloc(1, sizeof *m);
    if (!m) {
        *out = NULL;
        if (own)
            free((void *)data);
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    }
    source_init(&m->base, &memory_methods);
    m->data = data;
    m->own = own;
    m->base.meta.size = len;
    *out = &m->base;
    return CS_OK;
}

/* ---- a sub-range of a parent ---- */

typedef struct range_source {
    cs_source base;
    cs_source *parent;
    uint64_t off;
} range_source;

static ssize_t range_read_at(cs_source *s, void *buf, size_t len, uint64_t off)
{
    range_source *r = (range_source *)s;
    if (off >= s->meta.size)
        return 0;
    if (len > s->meta.size - off)
        len = (size_t)(s->meta.size - off);
    return r->parent->methods->read_at(r->parent, buf, len, r->off + off);
}

static const unsigned char *range_map(cs_source *s, cs_error *err)
{
    range_source *r = (range_source *)s;
    const unsigned char *p = cs_source_map(r->parent, err);
    return p ? p + r->off : NULL;
}

static void range_close(cs_source *s)
{
    range_source *r = (range_source *)s;
    cs_source_unref(r->parent);
    free(r);
}

static void range_release(cs_source *s, const unsigned char *p, size_t len)
{
    cs_source_release(((range_source *)s)->parent, p, len);
}

static const cs_source_methods range_methods = {
    CS_SOURCE_METHODS_VERSION, "member", range_read_at, range_map, NULL, range_close, range_release,
};

cs_status cs_source_range(cs_source *parent, uint64_t off, uint64_t len, cs_source **out, cs_error *err)
{
    *out = NULL;
    if (off > parent->meta.size || len > parent->meta.size - off)
        return cs_error_set(err, CS_ERR_ARG, "member range outside its container");
    range_source *r = calloc(1, sizeof *r);
    if (!r)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    source_init(&r->base, &range_methods);
    cs_source_ref(parent);
    r->parent = parent;
    r->off = off;
    r->base.meta.size = len;
    *out = &r->base;
    return CS_OK;
}

/* ---- a member decompressed into memory, spilling to a temporary file ---- */

typedef struct buffer_source {
    cs_source base;
    unsigned char *mem;
    size_t cap, spill;
    int fd;                    /* the unlinked temporary file once spilled, else -1 */
    const char *tmpdir;
    const unsigned char *map;
} buffer_source;

static const unsigned char *buffer_map(cs_source *s, cs_error *err)
{
    buffer_source *b = (buffer_source *)s;
    if (b->fd < 0)
        return b->mem ? b->mem : no_bytes;
    if (!b->map) {
        void *p = mmap(NULL, (size_t)s->meta.size, PROT_READ, MAP_PRIVATE, b->fd, 0);
        if (p == MAP_FAILED) {
            cs_error_set(err, CS_ERR_IO, "cannot map the temporary copy: %s", strerror(errno));
            return NULL;
        }
        b->map = p;
    }
    return b->map;
}

static ssize_t buffer_read_at(cs_source *s, void *buf, size_t len, uint64_t off)
{
    buffer_source *b = (buffer_source *)s;
    if (b->fd >= 0)
        return pread(b->fd, buf, len, (off_t)off);
    return memory_read_at(s, buf, len, off);
}

static void buffer_close(cs_source *s)
{
    buffer_source *b = (buffer_source *)s;
    if (b->map)
        munmap((void *)b->map, (size_t)s->meta.size);
    if (b->fd >= 0)
        close(b->fd);
    free(b->mem);
    free(b);
}

static void buffer_release(cs_source *s, const unsigned char *p, size_t len)
{
    if (((buffer_source *)s)->fd >= 0) /* spilled: a file mapping; in memory: the only copy */
        cs_file_mapping_release(p, len);
}

static const cs_source_methods buffer_methods = {
    CS_SOURCE_METHODS_VERSION, "member", buffer_read_at, buffer_map, NULL, buffer_close, buffer_release,
};

cs_status cs_source_buffer(size_t spill, const char *tmpdir, cs_source **out, cs_error *err)
{
    buffer_source *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    source_init(&b->base, &buffer_methods);
    b->spill = spill;
    b->fd = -1;
    b->tmpdir = tmpdir;
    *out = &b->base;
    return CS_OK;
}

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A private, already unlinked file: nothing is ever written next to the
 * scanned file, and nothing is left behind. */
static int open_spill_file(const char *dir)
{
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    cs_buf p = {0};
    cs_buf_printf(&p, "%s/chainsweep-member-XXXXXX", dir);
    fd = mkostemp(p.data, O_CLOEXEC);
    if (fd >= 0)
        unlink(p.data);
    cs_buf_free(&p);
    return fd;
}

cs_status cs_source_write(cs_source *s, const void *p, size_t n, cs_error *err)
{
    buffer_source *b = (buffer_source *)s;
    if (s->methods != &buffer_methods || b->map)
        return cs_error_set(err, CS_ERR_ARG, "not a writable member buffer");
    size_t have = (size_t)s->meta.size;
    if (b->fd < 0 && have + n > b->spill) {
        b->fd = open_spill_file(b->tmpdir);
        if (b->fd < 0)
            return cs_error_set(err, CS_ERR_IO, "cannot create a temporary file for a large member: %s",
                                strerror(errno));
        if (have && write_all(b->fd, b->mem, have) != 0)
            return cs_error_set(err, CS_ERR_IO, "cannot write the temporary copy of a member: %s",
                                strerror(errno));
        free(b->mem);
        b->mem = NULL;
        b->cap = 0;
    }
    if (b->fd >= 0) {
        if (write_all(b->fd, p, n) != 0)
            return cs_error_set(err, CS_ERR_IO, "cannot write the temporary copy of a member: %s",
                                strerror(errno));
    } else if (n) {
        if (have + n > b->cap) {
            size_t cap = b->cap ? b->cap : 64 * 1024;
            while (cap < have + n)
                cap *= 2;
            unsigned char *m = realloc(b->mem, cap);
            if (!m)
                return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
            b->mem = m;
            b->cap = cap;
        }
        memcpy(b->mem + have, p, n);
    }
    s->meta.size += n;
    return CS_OK;
}

/* ---- a member with its container, for related lookups ---- */

typedef struct member_source {
    cs_source base;
    cs_source *inner, *container;
    char *name;
    cs_extract_fn extract;
} member_source;

static ssize_t member_read_at(cs_source *s, void *buf, size_t len, uint64_t off)
{
    member_source *m = (member_source *)s;
    return m->inner->methods->read_at(m->inner, buf, len, off);
}

static const unsigned char *member_map(cs_source *s, cs_error *err)
{
    return cs_source_map(((member_source *)s)->inner, err);
}

/* Apply the components of p[0..plen) to out (len bytes so far): "." and
 * empty ones are dropped, ".." removes the last; -1 above the top or when
 * out is full. */
static int apply_components(const char *p, size_t plen, char *out, size_t n, size_t *len)
{
    const char *end = p + plen;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t k = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (k == 2 && p[0] == '.' && p[1] == '.') {
            if (*len == 0)
                return -1; /* above the container's top */
            char *up = memrchr(out, '/', *len);
            *len = up ? (size_t)(up - out) : 0;
        } else if (k && !(k == 1 && p[0] == '.')) {
            if (*len + (*len ? 1 : 0) + k >= n)
                return -1;
            if (*len)
                out[(*len)++] = '/';
            memcpy(out + *len, p, k);
            *len += k;
        }
        out[*len] = '\0';
        p += k + (slash ? 1 : 0);
    }
    return 0;
}

int cs_member_path_resolve(const char *name, const char *relpath, char *out, size_t n)
{
    size_t len = 0;
    if (n == 0)
        return -1;
    out[0] = '\0';
    const char *slash = strrchr(name, '/');
    if (slash && apply_components(name, (size_t)(slash - name), out, n, &len) != 0)
        return -1;
    if (apply_components(relpath, strlen(relpath), out, n, &len) != 0)
        return -1;
    return len ? 0 : -1;
}

#define RELATED_MAX (1u << 20)

static cs_status member_open_related(cs_source *s, const char *relpath, cs_source **out, cs_error *err)
{
    member_source *m = (member_source *)s;
    char path[4096];
    if (cs_member_path_resolve(m->name, relpath, path, sizeof path) != 0)
        return cs_error_set(err, CS_ERR_IO, "%s: outside the container", relpath);
    return m->extract(m->container, path, RELATED_MAX, out, err);
}

static void member_close(cs_source *s)
{
    member_source *m = (member_source *)s;
    cs_source_unref(m->inner);
    cs_source_unref(m->container);
    free(m->name);
    free(m);
}

static void member_release(cs_source *s, const unsigned char *p, size_t len)
{
    cs_source_release(((member_source *)s)->inner, p, len);
}

static const cs_source_methods member_methods = {
    CS_SOURCE_METHODS_VERSION, "member", member_read_at, member_map, member_open_related, member_close,
    member_release,
};

cs_status cs_source_member(cs_source *inner, cs_source *container, const char *name, cs_extract_fn extract,
                           cs_source **out, cs_error *err)
{
    member_source *m = calloc(1, sizeof *m);
    char *nm = strdup(name);
    *out = NULL;
    if (!m || !nm) {
        free(m);
        free(nm);
        cs_source_unref(inner);
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    }
    source_init(&m->base, &member_methods);
    m->base.meta = inner->meta;
    m->inner = inner;
    cs_source_ref(container);
    m->container = container;
    m->name = nm;
    m->extract = extract;
    *out = &m->base;
    return CS_OK;
}

/* ---- common ---- */

const unsigned char *cs_source_map(cs_source *s, cs_error *err)
{
    if (!s->methods->map) {
        cs_error_set(err, CS_ERR_IO, "this source cannot be mapped");
        return NULL;
    }
    return s->methods->map(s, err);
}

void cs_source_release(cs_source *s, const unsigned char *p, size_t len)
{
    if (s->methods->version >= 2 && s->methods->release)
        s->methods->release(s, p, len);
}

cs_source *cs_source_open_related(cs_source *s, const char *relpath, cs_error *err)
{
    cs_source *out = NULL;
    if (!s->methods->open_related) {
        cs_error_set(err, CS_ERR_IO, "%s: not available inside a %s", relpath, s->methods->kind);
        return NULL;
    }
    return s->methods->open_related(s, relpath, &out, err) == CS_OK ? out : NULL;
}

unsigned char *cs_source_read_all(cs_source *s, size_t max, size_t *len, cs_error *err)
{
    if (s->meta.size > max) {
        cs_error_set(err, CS_ERR_IO, "larger than %zu bytes", max);
        return NULL;
    }
    size_t n = (size_t)s->meta.size, got = 0;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        cs_error_set(err, CS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    while (got < n) {
        ssize_t r = s->methods->read_at(s, buf + got, n - got, got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    *len = got;
    return buf;
}

cs_status cs_source_map_path(const char *path, cs_mapped_fn fn, void *ud, cs_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, CS_ERR_IO, "%s", strerror(errno));
    /* its directory, for related objects (a bundle's Info.plist) */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cs_source *src;
    cs_status rc = cs_source_file(fd, dirfd, &src, err);
    if (rc != CS_OK)
        return rc;
    if (src->meta.size == 0) {
        cs_source_unref(src);
        return cs_error_set(err, CS_ERR_ARG, "empty file");
    }
    cs_guard_install();
    cs_guard g;
    cs_guard_enter(&g);
    if (sigsetjmp(g.jb, 1) == 0) {
        const unsigned char *d = cs_source_map(src, err);
        rc = d ? fn(src, d, (size_t)src->meta.size, ud, err) : CS_ERR_IO;
    } else {
        rc = cs_error_set(err, g.why == CS_GUARD_NOMEM ? CS_ERR_NOMEM : CS_ERR_IO, "%s", cs_guard_message(g.why));
    }
    cs_guard_leave(&g);
    cs_source_unref(src);
    return rc;
}

/* A file of the bundle, by its path relative to Contents/ (the executable
 * sits in Contents/MacOS/). An empty file is an empty buffer, not an absent
 * one. */
static unsigned char *read_bundle_file(void *ud, const char *relpath, size_t max, size_t *len)
{
    const cs_bundle_ref *ref = ud;
    char p[4200];
    if ((size_t)snprintf(p, sizeof p, "%s%s", ref->up, relpath) >= sizeof p)
        return NULL;
    cs_source *s = cs_source_open_related(ref->src, p, NULL);
    if (!s)
        return NULL;
    unsigned char *buf = NULL;
    *len = 0;
    if (s->meta.size == 0)
        buf = calloc(1, 1);
    else if (s->meta.size <= max)
        buf = cs_source_read_all(s, max, len, NULL);
    cs_source_unref(s);
    return buf;
}

static int bundle_file_exists(void *ud, const char *relpath)
{
    const cs_bundle_ref *ref = ud;
    char p[4200];
    if ((size_t)snprintf(p, sizeof p, "%s%s", ref->up, relpath) >= sizeof p)
        return 0;
    cs_source *s = cs_source_open_related(ref->src, p, NULL);
    cs_source_unref(s);
    return s != NULL;
}

/* <X>.framework/Versions/<v>/<X>: the framework's binary. */
static int framework_binary(const char *path)
{
    const char *base = strrchr(path, '/');
    if (!base)
        return 0;
    const char *v = base - 1; /* "<v>" before base */
    while (v > path && *v != '/')
        v--;
    if (v - path < 10 || strncmp(v - 9, "/Versions", 9) != 0)
        return 0;
    const char *fw_end = v - 9; /* "/Versions" follows "<X>.framework" */
    if (fw_end - path < 10 || strncmp(fw_end - 10, ".framework", 10) != 0)
        return 0;
    const char *fw = fw_end - 10;
    while (fw > path && fw[-1] != '/')
        fw--;
    size_t name_len = (size_t)(fw_end - 10 - fw);
    return strlen(base + 1) == name_len && strncmp(base + 1, fw, name_len) == 0;
}

int cs_source_bundle(cs_source *src, const char *path, struct cs_mc_bundle *b, cs_bundle_ref *ref)
{
    memset(b, 0, sizeof *b);
    ref->src = src;
    const char *m = NULL;
    for (const char *q = strstr(path, "/Contents/MacOS/"); q; q = strstr(q + 1, "/Contents/MacOS/"))
        m = q;
    if (m && m[16] != '\0' && !strchr(m + 16, '/')) {
        ref->up = "../";
    } else if (framework_binary(path)) {
        ref->up = "";
        b->info_plist = "Resources/Info.plist";
        b->exe_dir = "";
    } else {
        return 0;
    }
    b->read = read_bundle_file;
    b->exists = bundle_file_exists;
    b->ud = ref;
    return 1;
}
