/* Baseline for bench/run: the durable write every `queuectl enqueue` makes, alone, in C.
 * usage: durable HOME   (HOME has tmp/ and pending/)
 * Writes a job-sized file under HOME/tmp, fsyncs it, renames it into HOME/pending without
 * replacing anything, fsyncs pending/: what survives a power cut once it returns. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: durable HOME\n");
        return 2;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char id[64], tmp[4096], dest[4096], dir[4096], body[512];
    snprintf(id, sizeof id, "d%ld-%09ld-%d", (long)now.tv_sec, now.tv_nsec, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s/tmp/.%s.json.tmp", argv[1], id);
    snprintf(dest, sizeof dest, "%s/pending/%s.json", argv[1], id);
    snprintf(dir, sizeof dir, "%s/pending", argv[1]);
    int len = snprintf(body, sizeof body,
        "{\n  \"id\": \"%s\",\n  \"command\": \"true\",\n  \"state\": \"pending\",\n  \"attempts\": 0,\n"
        "  \"max_retries\": 3,\n  \"created_at\": \"2026-01-01T00:00:00.000Z\",\n"
        "  \"updated_at\": \"2026-01-01T00:00:00.000Z\"\n}\n", id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, body, len) != len || fsync(fd) != 0 || close(fd) != 0) {
        perror(tmp);
        return 1;
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) != 0) {
        perror(dest);
        return 1;
    }
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0 || fsync(d) != 0 || close(d) != 0) {
        perror(dir);
        return 1;
    }
    return 0;
}
