#include "engine/queue.h"

#include <stdlib.h>

int cs_queue_init(cs_queue *q, size_t cap)
{
    q->items = calloc(cap, sizeof *q->items);
    if (!q->items)
        return -1; /* left uninitialised: cs_queue_destroy is a no-op */
    q->cap = cap;
    q->head = q->len = 0;
    q->closed = 0;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return 0;
}

void cs_queue_destroy(cs_queue *q)
{
    if (!q->items)
        return; /* never initialised */
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->items);
}

int cs_queue_push(cs_queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == q->cap && !q->closed)
        pthread_cond_wait(&q->not_full, &q->mu);
    int ok = !q->closed;
    if (ok) {
        q->items[(q->head + q->len) % q->cap] = item;
        q->len++;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

size_t cs_queue_push_many(cs_queue *q, void *const *items, size_t n)
{
    size_t i = 0;
    pthread_mutex_lock(&q->mu);
    while (i < n && !q->closed) {
        if (q->len == q->cap) {
            pthread_cond_broadcast(&q->not_empty); /* take what is there */
            pthread_cond_wait(&q->not_full, &q->mu);
            continue;
        }
        q->items[(q->head + q->len) % q->cap] = items[i++];
        q->len++;
    }
    if (i)
        pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return i;
}

void *cs_queue_pop(cs_queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->mu);
    void *item = NULL;
    if (q->len) {
        item = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return item;
}

void cs_queue_close(cs_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full); /* a blocked push gives up */
    pthread_mutex_unlock(&q->mu);
}

int cs_queue_try_push(cs_queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    int ok = q->len < q->cap && !q->closed;
    if (ok) {
        q->items[(q->head + q->len) % q->cap] = item;
        q->len++;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}
