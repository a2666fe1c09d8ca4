// A persistent thread pool for fork-join loops.
//
// Why this shape (see design/kernels.md): a decode step runs hundreds of short parallel loops,
// so a fork-join must cost well under a microsecond; workers therefore spin on the job counter
// for a short while after each job. On a shared 2-core machine a worker that spins forever
// steals the core the caller needs, so after the spin budget a worker sleeps on a condition
// variable and is woken only when a job is published while someone sleeps.
//
// Chunks are claimed dynamically from one 64-bit word holding the job generation (high 32 bits),
// the job's chunk count (16 bits) and the next unclaimed chunk (low 16 bits), so a worker that
// wakes late, or is descheduled, never holds up the caller: whoever is running claims the work,
// and a stale worker's claim fails because the generation moved on. Everything a claim decides
// on is in that one word; the job fields it then reads were published before the word was.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "CForgeKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

enum {
    SPIN_ROUNDS = 4096, // pause instructions before sleeping: long enough to catch a decode step's next loop
    MAX_THREADS = 1024,  // keeps the chunks per job within the 16-bit chunk fields
};

struct forge_pool {
    int thread_count;
    pthread_t *workers;
    int started_workers;

    // The published job; written only while no chunk of the previous job is outstanding.
    forge_range_body body;
    void *context;
    int64_t count;
    int64_t chunk_size;

    _Atomic uint64_t claim;         // generation << 32 | chunk count << 16 | next unclaimed chunk
    _Atomic uint32_t completed;     // chunks finished in the current generation
    _Atomic int busy;               // a caller is running a job
    _Atomic int sleepers;           // workers waiting on `wake`
    _Atomic int stopping;

    pthread_mutex_t mutex;
    pthread_cond_t wake;
};

static _Thread_local int inside_pool_job;

// Claims and runs chunks of generation `generation` until none is left.
static void run_chunks(forge_pool *pool, uint32_t generation) {
    for (;;) {
        uint64_t observed = atomic_load_explicit(&pool->claim, memory_order_acquire);
        uint32_t chunk;
        do {
            if ((uint32_t)(observed >> 32) != generation) return;
            chunk = (uint32_t)(observed & 0xffff);
            if (chunk >= (uint32_t)((observed >> 16) & 0xffff)) return;
        } while (!atomic_compare_exchange_weak_explicit(&pool->claim, &observed, observed + 1,
                                                        memory_order_acquire, memory_order_acquire));
        const int64_t begin = (int64_t)chunk * pool->chunk_size;
        const int64_t end = begin + pool->chunk_size < pool->count ? begin + pool->chunk_size : pool->count;
        pool->body(pool->context, begin, end);
        atomic_fetch_add_explicit(&pool->completed, 1, memory_order_release);
    }
}

static void *worker_main(void *argument) {
    forge_pool *pool = argument;
    inside_pool_job = 1;
    uint32_t seen = 0;
    for (;;) {
        uint32_t generation;
        int spins = 0;
        while ((generation = (uint32_t)(atomic_load_explicit(&pool->claim, memory_order_acquire) >> 32)) == seen) {
            if (atomic_load_explicit(&pool->stopping, memory_order_acquire)) return NULL;
            if (++spins < SPIN_ROUNDS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1);
            while ((uint32_t)(atomic_load(&pool->claim) >> 32) == seen && !atomic_load(&pool->stopping)) {
                pthread_cond_wait(&pool->wake, &pool->mutex);
            }
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
            spins = 0;
        }
        seen = generation;
        run_chunks(pool, generation);
    }
}

forge_pool *forge_pool_create(int thread_count) {
    forge_pool *pool = calloc(1, sizeof(forge_pool));
    if (!pool) return NULL;
    pool->thread_count = thread_count < 1 ? 1 : thread_count > MAX_THREADS ? MAX_THREADS : thread_count;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    if (pool->thread_count > 1) {
        pool->workers = calloc((size_t)pool->thread_count - 1, sizeof(pthread_t));
        if (!pool->workers) {
            forge_pool_destroy(pool);
            return NULL;
        }
        for (int i = 0; i < pool->thread_count - 1; ++i) {
            if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) {
                forge_pool_destroy(pool);
                return NULL;
            }
            pool->started_workers += 1;
        }
    }
    return pool;
}

void forge_pool_destroy(forge_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stopping, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 0; i < pool->started_workers; ++i) pthread_join(pool->workers[i], NULL);
    free(pool->workers);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool);
}

int forge_pool_thread_count(const forge_pool *pool) { return pool ? pool->thread_count : 1; }

void forge_pool_run(forge_pool *pool, int64_t count, int64_t grain, forge_range_body body, void *context) {
    if (count <= 0) return;
    if (grain < 1) grain = 1;
    int expected = 0;
    if (!pool || pool->thread_count == 1 || count <= grain || inside_pool_job ||
        !atomic_compare_exchange_strong(&pool->busy, &expected, 1)) {
        body(context, 0, count);
        return;
    }
    // Two chunks per thread let the others absorb a participant that is descheduled; more chunks
    // cost more contended claims.
    const int64_t target_chunks = (int64_t)pool->thread_count * 2;
    int64_t chunk_size = (count + target_chunks - 1) / target_chunks;
    chunk_size = (chunk_size + grain - 1) / grain * grain;
    pool->body = body;
    pool->context = context;
    pool->count = count;
    pool->chunk_size = chunk_size;
    const uint32_t chunk_count = (uint32_t)((count + chunk_size - 1) / chunk_size);
    atomic_store_explicit(&pool->completed, 0, memory_order_relaxed);

    const uint32_t generation = (uint32_t)(atomic_load(&pool->claim) >> 32) + 1;
    // seq_cst: ordered before reading `sleepers`, so a worker either sees the job or is woken.
    atomic_store(&pool->claim, (uint64_t)generation << 32 | (uint64_t)chunk_count << 16);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }

    inside_pool_job = 1;
    run_chunks(pool, generation);
    inside_pool_job = 0;
    int spins = 0;
    while (atomic_load_explicit(&pool->completed, memory_order_acquire) < chunk_count) {
        if (++spins < SPIN_ROUNDS) cpu_relax();
        else sched_yield(); // a worker holding a chunk was descheduled: let it run
    }
    atomic_store_explicit(&pool->busy, 0, memory_order_release);
}
