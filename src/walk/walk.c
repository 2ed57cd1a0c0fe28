#define _GNU_SOURCE
#include "walk/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "util/util.h"

typedef struct walk_state {
    const cs_walk_opts *o;
    cs_walk_fn fn;
    void *ud;
    dev_t root_dev;
    cs_buf path;
    int stopped;               /* the callback asked to stop */
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
    cs_walk_entry ent = {w->path.data, st, skip, error, -1, -1};
    if (w->fn(w->ud, &ent) != 0)
        w->stopped = 1;
}

static void emit_errno(walk_state *w, const char *what, int errnum)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(errnum));
    emit(w, NULL, CS_SKIP_NONE, msg);
}

static cs_skip_reason excluded(walk_state *w, const char *name, const struct stat *st)
{
    return w->o->exclude ? w->o->exclude(w->o->exclude_ud, w->path.data, name, st) : CS_SKIP_NONE;
}

static int open_file_at(int dfd, const char *name, int follow)
{
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    int fd = openat(dfd, name, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = openat(dfd, name, flags); /* O_NOATIME needs ownership */
    return fd;
}

/* A regular file: open it here, on its directory's descriptor, and hand
 * both descriptors to the callback. */
static void emit_file(walk_state *w, int dfd, const char *name, const struct stat *st, int follow)
{
    int taken = w->o->claim ? w->o->claim(w->o->claim_ud, w->path.data, st) : 0;
    if (taken) {
        if (taken < 0)
            w->stopped = 1;
        return;
    }
    int fd = open_file_at(dfd, name, follow);
    if (fd < 0) {
        if (errno == ELOOP) /* swapped for a symlink since the stat */
            emit(w, st, CS_SKIP_SYMLINK, NULL);
        else
            emit_errno(w, "cannot open", errno);
        return;
    }
    cs_walk_entry ent = {w->path.data, st, CS_SKIP_NONE, NULL, fd, fcntl(dfd, F_DUPFD_CLOEXEC, 0)};
    if (w->fn(w->ud, &ent) != 0)
        w->stopped = 1;
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
    const cs_walk_opts *cfg = w->o;
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
    const cs_walk_opts *cfg = w->o;
    DIR *d = fdopendir(dfd);
    if (!d) {
        emit_errno(w, "cannot list directory", errno);
        close(dfd);
        return;
    }
    size_t base_len = w->path.len;
    struct dirent *de;
    errno = 0;
    while (!w->stopped && (de = readdir(d)) != NULL) {
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
        cs_skip_reason why = excluded(w, name, &st);
        if (why != CS_SKIP_NONE) {
            emit(w, &st, why, NULL);
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
            emit_file(w, dfd, name, &st, cfg->follow_symlinks);
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

int cs_walk(const cs_walk_opts *o, const char *root, cs_walk_fn fn, void *ud)
{
    walk_state w = {o, fn, ud, 0, {0}, 0};
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
            return 0;
        }
        cs_buf_free(&w.path);
        errno = en;
        return -1;
    }
    w.root_dev = st.st_dev;
    if (S_ISDIR(st.st_mode)) {
        int fd = open(w.path.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            emit_errno(&w, "cannot open directory", errno);
        else if (excluded(&w, basename_of(w.path.data), NULL) == CS_SKIP_EXCLUDED) /* a root: only --exclude */
            emit(&w, &st, CS_SKIP_EXCLUDED, NULL), close(fd);
        else
            enter_dir(&w, fd, &st, 0, NULL);
    } else if (S_ISREG(st.st_mode)) {
        /* a root file (followed like find -H), opened beside its directory */
        const char *slash = strrchr(w.path.data, '/');
        cs_buf dir = {0};
        if (!slash)
            cs_buf_puts(&dir, ".");
        else
            cs_buf_append(&dir, w.path.data, slash == w.path.data ? 1 : (size_t)(slash - w.path.data));
        int dfd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
        cs_buf_free(&dir);
        if (dfd < 0)
            emit_errno(&w, "cannot open its directory", errno);
        else
            emit_file(&w, dfd, basename_of(w.path.data), &st, 1), close(dfd);
    } else {
        emit(&w, &st, CS_SKIP_NOT_REGULAR, NULL);
    }
    cs_buf_free(&w.path);
    return 0;
}
