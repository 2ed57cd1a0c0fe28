/* Bounded blocking queue of pointers: the pipeline's back-pressure, so
 * memory does not grow with the size of the tree. */
#ifndef CS_ENGINE_QUEUE_H
#define CS_ENGINE_QUEUE_H

#include <pthread.h>
#include <stddef.h>

typedef struct cs_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **items;
    size_t cap, head, len;
    int closed;
} cs_queue;

int cs_queue_init(cs_queue *q, size_t cap);
void cs_queue_destroy(cs_queue *q);
/* Blocks while full; 0 (item not taken) once the queue is closed. */
int cs_queue_push(cs_queue *q, void *item);
/* Several at once, under one lock and one wake-up (blocks while full);
 * returns how many were taken (fewer once the queue is closed). */
size_t cs_queue_push_many(cs_queue *q, void *const *items, size_t n);
/* 1 when pushed; 0 when full or closed (never blocks). */
int cs_queue_try_push(cs_queue *q, void *item);
/* Blocks while empty and open; NULL once closed and drained. */
void *cs_queue_pop(cs_queue *q);
void cs_queue_close(cs_queue *q);

#endif
