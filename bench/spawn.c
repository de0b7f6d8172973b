/* Baseline for bench/run: how fast this machine can run `/bin/sh -c true` with N in flight.
 * usage: spawn JOBS IN_FLIGHT   -> prints jobs per second */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int jobs = argc > 1 ? atoi(argv[1]) : 2000;
    int inflight = argc > 2 ? atoi(argv[2]) : 4;
    char *args[] = {"/bin/sh", "-c", "true", NULL};
    int started = 0, running = 0, done = 0;
    double t0 = now();
    while (done < jobs) {
        while (running < inflight && started < jobs) {
            pid_t pid;
            if (posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ) != 0) {
                perror("posix_spawn");
                return 1;
            }
            started++;
            running++;
        }
        int status;
        if (wait(&status) > 0) {
            running--;
            done++;
        }
    }
    printf("%.1f\n", jobs / (now() - t0));
    return 0;
}
