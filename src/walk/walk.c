#define _GNU_SOURCE
#include "walk/walk.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <pcre2.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

typedef struct walk_state {
    const cs_engine *e;
    cs_walk_fn fn;
    void *ud;
    dev_t root_dev;
    cs_buf path;
    pcre2_match_data *md;      /* for --exclude regexes, one per walk */
} walk_state;

/* Directories whose ancestors chain is used for loop detection when
 * following symlinks. */
typedef struct ancestor {
    dev_t dev;
    ino_t ino;
    const struct ancestor *up;
} ancestor;

static void emit(walk_state *w, const struct stat *st, cs_skip_reason skip, const char *error)
{
    cs_walk_entry ent = {w->path.data, st, skip, error};
    w->fn(w->ud, &ent);
}

static void emit_errno(walk_state *w, const char *what, int errnum)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(errnum));
    emit(w, NULL, CS_SKIP_NONE, msg);
}

static int is_pseudo_path(const char *p)
{
    return strcmp(p, "/proc") == 0 || strcmp(p, "/sys") == 0 || strcmp(p, "/dev") == 0;
}

static int is_pseudo_fs(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0)
        return 0;
    switch ((unsigned long)sf.f_type) {
    case 0x9fa0:     /* proc */
    case 0x62656572: /* sysfs */
    case 0x1cd1:     /* devpts */
    case 0x64626720: /* debugfs */
    case 0x74726163: /* tracefs */
    case 0x27e0eb:   /* cgroup */
    case 0x63677270: /* cgroup2 */
    case 0x73636673: /* securityfs */
    case 0xcafe4a11: /* bpf */
    case 0x6165676c: /* pstore */
    case 0x62656570: /* configfs */
    case 0x65735543: /* fusectl */
        return 1;
    default:
        return 0;
    }
}

static const char *basename_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

static void walk_dir(walk_state *w, int dfd, int level, const ancestor *up);

/* Enter a directory given by an open descriptor (takes ownership of fd). */
static void enter_dir(walk_state *w, int fd, const struct stat *st, int level, const ancestor *up)
{
    const cs_config *cfg = &w->e->cfg;
    if (is_pseudo_path(w->path.data) || (st->st_dev != w->root_dev && is_pseudo_fs(fd))) {
        emit(w, st, CS_SKIP_PSEUDO_FS, NULL);
        close(fd);
        return;
    }
    if (level > 0 && st->st_dev != w->root_dev && !cfg->cross_fs) {
        emit(w, st, CS_SKIP_OTHER_FS, NULL);
        close(fd);
        return;
    }
    for (const ancestor *a = up; a; a = a->up) {
        if (a->dev == st->st_dev && a->ino == st->st_ino) {
            emit(w, st, CS_SKIP_LOOP, NULL);
            close(fd);
            return;
        }
    }
    ancestor me = {st->st_dev, st->st_ino, up};
    walk_dir(w, fd, level, &me);
}

static void walk_dir(walk_state *w, int dfd, int level, const ancestor *up)
{
    const cs_config *cfg = &w->e->cfg;
    DIR *d = fdopendir(dfd);
    if (!d) {
        emit_errno(w, "cannot list directory", errno);
        close(dfd);
        return;
    }
    size_t base_len = w->path.len;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        w->path.len = base_len;
        if (base_len == 0 || w->path.data[base_len - 1] != '/')
            cs_buf_append(&w->path, "/", 1);
        cs_buf_puts(&w->path, name);

        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            emit_errno(w, "cannot stat", errno);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (!cfg->follow_symlinks) {
                emit(w, &st, CS_SKIP_SYMLINK, NULL);
                continue;
            }
            if (fstatat(dfd, name, &st, 0) != 0) {
                emit_errno(w, "broken symlink", errno);
                continue;
            }
        }
        if (cs_engine_is_excluded(w->e, w->path.data, name, w->md)) {
            emit(w, &st, CS_SKIP_EXCLUDED, NULL);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (cfg->max_depth >= 0 && level + 1 > cfg->max_depth) {
                emit(w, &st, CS_SKIP_DEPTH, NULL);
                continue;
            }
            int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | (cfg->follow_symlinks ? 0 : O_NOFOLLOW);
            int fd = openat(dfd, name, flags);
            if (fd < 0) {
                emit_errno(w, "cannot open directory", errno);
                continue;
            }
            enter_dir(w, fd, &st, level + 1, up);
        } else if (S_ISREG(st.st_mode)) {
            emit(w, &st, CS_SKIP_NONE, NULL);
        } else {
            emit(w, &st, CS_SKIP_NOT_REGULAR, NULL);
        }
        errno = 0;
    }
    if (errno) {
        w->path.len = base_len;
        w->path.data[base_len] = '\0';
        emit_errno(w, "directory listing interrupted", errno);
    }
    w->path.len = base_len;
    w->path.data[base_len] = '\0';
    closedir(d);
}

int cs_walk(const cs_engine *e, const char *root, cs_walk_fn fn, void *ud)
{
    /* ovector size 1 is enough to know whether a pattern matched */
    walk_state w = {e, fn, ud, 0, {0}, pcre2_match_data_create(1, NULL)};
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    cs_buf_append(&w.path, root, n);

    struct stat st;
    if (stat(w.path.data, &st) != 0) {
        int en = errno;
        if (lstat(w.path.data, &st) == 0 && S_ISLNK(st.st_mode)) {
            emit_errno(&w, "broken symlink", en);
            cs_buf_free(&w.path);
            pcre2_match_data_free(w.md);
            return 0;
        }
        cs_buf_free(&w.path);
        pcre2_match_data_free(w.md);
        errno = en;
        return -1;
    }
    w.root_dev = st.st_dev;
    if (S_ISDIR(st.st_mode)) {
        int fd = open(w.path.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            emit_errno(&w, "cannot open directory", errno);
        else if (cs_engine_is_excluded(e, w.path.data, basename_of(w.path.data), w.md))
            emit(&w, &st, CS_SKIP_EXCLUDED, NULL), close(fd);
        else
            enter_dir(&w, fd, &st, 0, NULL);
    } else if (S_ISREG(st.st_mode)) {
        emit(&w, &st, CS_SKIP_NONE, NULL);
    } else {
        emit(&w, &st, CS_SKIP_NOT_REGULAR, NULL);
    }
    cs_buf_free(&w.path);
    pcre2_match_data_free(w.md);
    return 0;
}
