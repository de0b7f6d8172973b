/* Baseline for bench/run: the machine's spawn limit with a job's durable file work around each
 * spawn, done in C by IN_FLIGHT threads: what no worker keeping queuectl's durability can beat.
 * usage: protocol DIR JOBS IN_FLIGHT   -> prints jobs per second
 * Per job, as a worker does (Protocol/Claimer.cs, Protocol/AtomicFile.cs): the claim rename
 * pending/ -> processing/; a rewrite of the claimed file (a copy in tmp/, fsync, rename over it);
 * posix_spawn of `/bin/sh -c true` and its wait; the finish rewrite (copy, fsync, rename over);
 * the move into completed/ and an fsync of completed/. No reading, parsing or bookkeeping. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *dir;
static int jobs;
static atomic_int next_job;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* A copy in tmp/, fsync'd, renamed over PATH. */
static void rewrite(const char *path, const char *body, int worker)
{
    char staged[4096];
    snprintf(staged, sizeof staged, "%s/tmp/w%d.tmp", dir, worker);
    int fd = open(staged, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(body);
    if (fd < 0 || write(fd, body, len) != (ssize_t)len || fsync(fd) != 0 || close(fd) != 0)
        die(staged);
    if (rename(staged, path) != 0)
        die(path);
}

static void *worker(void *arg)
{
    int w = (int)(long)arg;
    char pending[4096], claimed[4096], done[4096], completed[4096], body[512];
    char *args[] = {"/bin/sh", "-c", "true", NULL};
    snprintf(completed, sizeof completed, "%s/completed", dir);
    for (int i; (i = atomic_fetch_add(&next_job, 1)) < jobs;) {
        snprintf(pending, sizeof pending, "%s/pending/j%06d.json", dir, i);
        snprintf(claimed, sizeof claimed, "%s/processing/j%06d.json", dir, i);
        snprintf(done, sizeof done, "%s/completed/j%06d.json", dir, i);
        if (rename(pending, claimed) != 0)
            die(pending);
        snprintf(body, sizeof body, "{\"id\":\"j%06d\",\"command\":\"true\",\"state\":\"processing\",\"worker_id\":\"w%d\"}\n", i, w);
        rewrite(claimed, body, w);
        pid_t pid;
        int status;
        if (posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ) != 0 || waitpid(pid, &status, 0) != pid)
            die("spawn");
        snprintf(body, sizeof body, "{\"id\":\"j%06d\",\"command\":\"true\",\"state\":\"completed\",\"attempts\":1}\n", i);
        rewrite(claimed, body, w);
        if (renameat2(AT_FDCWD, claimed, AT_FDCWD, done, RENAME_NOREPLACE) != 0)
            die(done);
        int d = open(completed, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0 || fsync(d) != 0 || close(d) != 0)
            die(completed);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: protocol DIR JOBS IN_FLIGHT\n");
        return 2;
    }
    dir = argv[1];
    jobs = atoi(argv[2]);
    int inflight = atoi(argv[3]);
    char path[4096];
    const char *folders[] = {"pending", "processing", "completed", "tmp"};
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, folders[f]);
        if (mkdir(path, 0755) != 0)
            die(path);
    }
    for (int i = 0; i < jobs; i++) {
        snprintf(path, sizeof path, "%s/pending/j%06d.json", dir, i);
        FILE *f = fopen(path, "w");
        if (!f || fprintf(f, "{\"id\":\"j%06d\",\"command\":\"true\"}\n", i) < 0 || fclose(f) != 0)
            die(path);
    }
    pthread_t threads[64];
    if (inflight < 1 || inflight > 64)
        inflight = 4;
    double t0 = now();
    for (int t = 0; t < inflight; t++)
        if (pthread_create(&threads[t], NULL, worker, (void *)(long)t) != 0)
            die("pthread_create");
    for (int t = 0; t < inflight; t++)
        pthread_join(threads[t], NULL);
    printf("%.1f\n", jobs / (now() - t0));
    return 0;
}
