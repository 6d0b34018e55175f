/*
 * forge-spawn: creates and watches the local sandbox's agent processes for Forge.
 *
 * Why a helper: Node spawns with a plain fork() of its whole (large) process and blocks its event
 * loop until the child has exec'd, and gives the child a Unix socket pair for output, on which an
 * eager reader is woken for nearly every write. This tiny process forks cheaply, gives each child
 * a real pipe sized to 1 MiB, drains it in batches (at most every BATCH_MS while output streams,
 * unless the writer fills half the pipe between batches; an occasional line is read at once) and
 * hands Forge large chunks over one channel.
 *
 * Protocol, on fd 0 (requests from Forge) and fd 1 (events to Forge): frames of a 9-byte header
 * (u32 LE payload length, u32 LE run id, u8 type) and the payload.
 *   SPAWN   u32 argc, envc, status_fd (0: none, else 3..9), stdin_kind (0 /dev/null, 1 file,
 *           2 inline data), stdin_len; then NUL-terminated cwd, cgroup ("" none), stdin path,
 *           output path ("": the pipe), argv[argc], env[envc]; then stdin_len bytes of input.
 *   CLOSE   stop reading the run's output and status; forget it once it has exited.
 *   PAUSE / RESUME   stop / start reading its output (Forge's consumer is behind).
 * Events: STARTED (u32 pid), FAILED (text), OUTPUT (bytes), OUTPUT_END, STATUS (bytes from the
 * status fd), STATUS_END, EXIT (i32 exit code or -1, i32 signal number or 0).
 *
 * Each child: its own session and process group, born in the attempt's cgroup (or joining it
 * before exec on kernels without clone3), so nothing it starts is born outside it; the working directory set, stdout and stderr one pipe
 * (their order kept). A setup step that fails is FAILED with its reason; a program that cannot be
 * executed says so in its output and exits 127 (126 when not permitted), as a shell would.
 *
 * When Forge goes away (EOF on fd 0, or its death) the helper exits; the children live on in
 * their own sessions, as they would have under Node, and Forge's recovery reaps them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { REQ_SPAWN = 1, REQ_CLOSE = 2, REQ_PAUSE = 3, REQ_RESUME = 4 };
enum {
  EV_STARTED = 1,
  EV_FAILED = 2,
  EV_OUTPUT = 3,
  EV_OUTPUT_END = 4,
  EV_STATUS = 5,
  EV_STATUS_END = 6,
  EV_EXIT = 7
};

#define HEADER 9
#define CHUNK (1 << 20)
#define PIPE_SIZE (1 << 20)
#define BATCH_MS 10
#define STREAMING_US 2000
#define MAX_REQUEST (8 << 20)
/* Descriptors the child's pipes are parked at before being moved to 0, 1, 2 and status_fd. */
#define PARK_FD 10

struct run {
  uint32_t id;
  pid_t pid;
  int err;    /* the child's close-on-exec error pipe until it exec'd or failed, then -1 */
  int started; /* STARTED was sent (its output is read only from then on) */
  int failed;  /* FAILED was sent: nothing more is said about it */
  char reason[1024];
  size_t reason_len;
  int out;    /* read end of the output pipe, -1 once closed */
  int status; /* read end of the status pipe, -1 when none or closed */
  int paused;
  int exited;
  long long next_read; /* monotonic ms before which the output is not read (batching) */
  long long last_read; /* monotonic µs of the last read of the output */
  struct run *next;
};

static struct run *runs;
static unsigned char chunk[CHUNK];

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes one event; Forge gone means the helper's work is over. */
static void send_event(uint8_t type, uint32_t id, const void *data, size_t len) {
  unsigned char header[HEADER];
  put32(header, (uint32_t)len);
  put32(header + 4, id);
  header[8] = type;
  struct iovec iov[2] = {{header, HEADER}, {(void *)data, len}};
  int n = len ? 2 : 1;
  struct iovec *v = iov;
  while (n > 0) {
    ssize_t w = writev(1, v, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(0);
    }
    while (n > 0 && (size_t)w >= v->iov_len) {
      w -= (ssize_t)v->iov_len;
      v++;
      n--;
    }
    if (n > 0) {
      v->iov_base = (char *)v->iov_base + w;
      v->iov_len -= (size_t)w;
    }
  }
}

static void send_text(uint8_t type, uint32_t id, const char *text) {
  send_event(type, id, text, strlen(text));
}

static struct run *find_run(uint32_t id) {
  for (struct run *r = runs; r; r = r->next)
    if (r->id == id) return r;
  return NULL;
}

static void forget_if_done(struct run *r) {
  if (!r->exited || r->err >= 0 || r->out >= 0 || r->status >= 0) return;
  for (struct run **p = &runs; *p; p = &(*p)->next) {
    if (*p == r) {
      *p = r->next;
      free(r);
      return;
    }
  }
}

/* ---- the child, between fork and exec (the helper is single-threaded, so all of libc is safe) */

static void child_fail(int err_fd, const char *what, const char *detail) {
  char msg[4096];
  int n = snprintf(msg, sizeof msg, "%s%s%s: %s", what, detail ? " " : "", detail ? detail : "",
                   strerror(errno));
  if (n > 0) (void)!write(err_fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
  _exit(127);
}

static int park(int fd, int err_fd) {
  int parked = fcntl(fd, F_DUPFD_CLOEXEC, PARK_FD);
  if (parked < 0) child_fail(err_fd, "dup", NULL);
  return parked;
}

/* execve argv[0], searched on the child's own PATH (not the helper's), as execvp would. */
static void exec_program(char **argv, char **env) {
  const char *file = argv[0];
  if (strchr(file, '/')) {
    execve(file, argv, env);
    return;
  }
  const char *path = "/usr/local/bin:/usr/bin:/bin";
  for (char **e = env; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  int denied = 0;
  char candidate[8192];
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dir = (size_t)(end - p);
    if (dir + strlen(file) + 2 <= sizeof candidate) {
      if (dir == 0)
        snprintf(candidate, sizeof candidate, "%s", file);
      else
        snprintf(candidate, sizeof candidate, "%.*s/%s", (int)dir, p, file);
      execve(candidate, argv, env);
      if (errno == EACCES) denied = 1;
    }
    if (*end == '\0') break;
    p = end;
  }
  if (denied) errno = EACCES;
}

struct spawn_request {
  uint32_t argc, envc, status_fd, stdin_kind, stdin_len;
  const char *cwd, *cgroup, *stdin_path, *output_path;
  char **argv, **env;
  const unsigned char *stdin_data;
};

static void child(const struct spawn_request *q, int in_cgroup, int out_w, int status_w, int in_r,
                  int err_w) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  err_w = park(err_w, err_w);
  if (setsid() < 0) child_fail(err_w, "setsid", NULL);
  if (q->cgroup[0] && !in_cgroup) {
    char procs[4096];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", q->cgroup);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) child_fail(err_w, "could not join the cgroup", q->cgroup);
    close(fd);
  }
  if (chdir(q->cwd) < 0) child_fail(err_w, "could not enter the working directory", q->cwd);
  int in;
  if (q->stdin_kind == 1) {
    in = open(q->stdin_path, O_RDONLY | O_CLOEXEC);
    if (in < 0) child_fail(err_w, "could not open the standard input", q->stdin_path);
  } else if (q->stdin_kind == 2) {
    in = in_r;
  } else {
    in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0) child_fail(err_w, "could not open", "/dev/null");
  }
  int out = out_w;
  if (q->output_path[0]) {
    out = open(q->output_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (out < 0) child_fail(err_w, "could not open the output file", q->output_path);
  }
  in = park(in, err_w);
  out = park(out, err_w);
  if (status_w >= 0) status_w = park(status_w, err_w);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
    child_fail(err_w, "could not set up the standard streams", NULL);
  if (status_w >= 0 && dup2(status_w, (int)q->status_fd) < 0)
    child_fail(err_w, "could not set up the status descriptor", NULL);
  exec_program(q->argv, q->env);
  int err = errno;
  dprintf(2, "forge: could not run %s: %s\n", q->argv[0], strerror(err));
  _exit(err == EACCES ? 126 : 127);
}

/* ---- requests */

static int take_string(const unsigned char **p, const unsigned char *end, const char **out) {
  const unsigned char *nul = memchr(*p, '\0', (size_t)(end - *p));
  if (!nul) return -1;
  *out = (const char *)*p;
  *p = nul + 1;
  return 0;
}

static int parse_spawn(const unsigned char *p, uint32_t len, struct spawn_request *q) {
  const unsigned char *end = p + len;
  if (len < 20) return -1;
  q->argc = get32(p);
  q->envc = get32(p + 4);
  q->status_fd = get32(p + 8);
  q->stdin_kind = get32(p + 12);
  q->stdin_len = get32(p + 16);
  p += 20;
  if (q->argc == 0 || q->argc > len || q->envc > len || q->stdin_kind > 2) return -1;
  if (q->status_fd != 0 && (q->status_fd < 3 || q->status_fd >= PARK_FD)) return -1;
  if (take_string(&p, end, &q->cwd) || take_string(&p, end, &q->cgroup) ||
      take_string(&p, end, &q->stdin_path) || take_string(&p, end, &q->output_path))
    return -1;
  q->argv = calloc(q->argc + 1, sizeof(char *));
  q->env = calloc(q->envc + 1, sizeof(char *));
  if (!q->argv || !q->env) return -1;
  for (uint32_t i = 0; i < q->argc; i++)
    if (take_string(&p, end, (const char **)&q->argv[i])) return -1;
  for (uint32_t i = 0; i < q->envc; i++)
    if (take_string(&p, end, (const char **)&q->env[i])) return -1;
  if ((size_t)(end - p) != q->stdin_len) return -1;
  q->stdin_data = p;
  return 0;
}

static void close_fds(int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) close(fds[i]);
}

/* Moving a live process into a cgroup waits for an RCU grace period (milliseconds); a child
 * born in it (clone3 with CLONE_INTO_CGROUP, Linux 5.7+) does not. Older kernels: fork, and the
 * child joins before it execs. Either way nothing the agent starts is born outside the group. */
static pid_t fork_into(int cgroup_fd, int *in_cgroup) {
  *in_cgroup = 0;
  if (cgroup_fd >= 0) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *in_cgroup = 1;
      return pid;
    }
    if (errno != ENOSYS && errno != EINVAL && errno != E2BIG && errno != EOPNOTSUPP) return -1;
  }
  return fork();
}

static void spawn_run(uint32_t id, const unsigned char *payload, uint32_t len) {
  struct spawn_request q = {0};
  if (parse_spawn(payload, len, &q) < 0) {
    free(q.argv);
    free(q.env);
    send_text(EV_FAILED, id, "the spawn request was malformed");
    return;
  }
  /* out[0], out[1], status[0], status[1], in[0], in[1], err[0], err[1] */
  int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  const char *failed = NULL;
  if (!q.output_path[0] && pipe2(fds, O_CLOEXEC) < 0) failed = "could not create the output pipe";
  if (!failed && q.status_fd && pipe2(fds + 2, O_CLOEXEC) < 0)
    failed = "could not create the status pipe";
  if (!failed && q.stdin_kind == 2) {
    if (pipe2(fds + 4, O_CLOEXEC) < 0) {
      failed = "could not create the input pipe";
    } else {
      if (q.stdin_len > 65536) fcntl(fds[5], F_SETPIPE_SZ, PIPE_SIZE);
      /* An empty pipe takes up to its size without blocking. */
      if (write(fds[5], q.stdin_data, q.stdin_len) != (ssize_t)q.stdin_len)
        failed = "the standard input does not fit the input pipe";
      close(fds[5]);
      fds[5] = -1;
    }
  }
  if (!failed && pipe2(fds + 6, O_CLOEXEC) < 0) failed = "could not create a pipe";
  if (failed) {
    close_fds(fds, 8);
    free(q.argv);
    free(q.env);
    send_text(EV_FAILED, id, failed);
    return;
  }
  if (fds[0] >= 0) fcntl(fds[0], F_SETPIPE_SZ, PIPE_SIZE); /* best effort: the user's pipe quota */
  int cgroup_fd = q.cgroup[0] ? open(q.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  int in_cgroup;
  pid_t pid = fork_into(cgroup_fd, &in_cgroup);
  if (pid == 0) child(&q, in_cgroup, fds[1], q.status_fd ? fds[3] : -1, fds[4], fds[7]);
  int saved = errno;
  if (cgroup_fd >= 0) close(cgroup_fd);
  free(q.argv);
  free(q.env);
  int parent_ends[4] = {fds[1], fds[3], fds[4], fds[7]};
  close_fds(parent_ends, 4);
  if (pid < 0) {
    close_fds((int[]){fds[0], fds[2], fds[6]}, 3);
    char msg[256];
    snprintf(msg, sizeof msg, "could not create the process: %s", strerror(saved));
    send_text(EV_FAILED, id, msg);
    return;
  }
  /* The child reports on its close-on-exec error pipe: EOF without a word means it exec'd. The
   * loop waits for that, so one slow start holds up no other run. */
  struct run *r = calloc(1, sizeof *r);
  if (!r) abort();
  r->id = id;
  r->pid = pid;
  r->err = fds[6];
  r->out = fds[0];
  r->status = fds[2];
  fcntl(r->err, F_SETFL, O_NONBLOCK);
  if (r->out >= 0) fcntl(r->out, F_SETFL, O_NONBLOCK);
  if (r->status >= 0) fcntl(r->status, F_SETFL, O_NONBLOCK);
  r->next = runs;
  runs = r;
}

/* Reads the error pipe; at its end, says STARTED or FAILED. */
static void check_start(struct run *r) {
  for (;;) {
    ssize_t n = read(r->err, r->reason + r->reason_len, sizeof r->reason - 1 - r->reason_len);
    if (n > 0) {
      r->reason_len += (size_t)n;
      if (r->reason_len < sizeof r->reason - 1) continue;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    break;
  }
  close(r->err);
  r->err = -1;
  if (r->reason_len > 0) {
    r->reason[r->reason_len] = '\0';
    r->failed = 1;
    if (r->out >= 0) close(r->out);
    if (r->status >= 0) close(r->status);
    r->out = r->status = -1;
    send_text(EV_FAILED, r->id, r->reason);
    return;
  }
  r->started = 1;
  unsigned char pidbuf[4];
  put32(pidbuf, (uint32_t)r->pid);
  send_event(EV_STARTED, r->id, pidbuf, 4);
  /* An output file instead of the pipe: there is no output to send. */
  if (r->out < 0) send_event(EV_OUTPUT_END, r->id, NULL, 0);
}

static void close_run(struct run *r) {
  if (r->out >= 0) close(r->out);
  if (r->status >= 0) close(r->status);
  r->out = r->status = -1;
  forget_if_done(r);
}

static void handle_request(uint8_t type, uint32_t id, const unsigned char *payload, uint32_t len) {
  struct run *r = find_run(id);
  switch (type) {
    case REQ_SPAWN:
      if (r) send_text(EV_FAILED, id, "a run with this id exists");
      else spawn_run(id, payload, len);
      break;
    case REQ_CLOSE:
      if (r) close_run(r);
      break;
    case REQ_PAUSE:
      if (r) r->paused = 1;
      break;
    case REQ_RESUME:
      if (r) r->paused = 0;
      break;
    default:
      fprintf(stderr, "forge-spawn: unknown request type %u\n", type);
      _exit(2);
  }
}

/* ---- the loop */

static unsigned char *inbuf;
static size_t inlen, incap;

static void read_requests(void) {
  if (incap - inlen < 65536) {
    incap = incap ? incap * 2 : 1 << 17;
    inbuf = realloc(inbuf, incap);
    if (!inbuf) abort();
  }
  ssize_t n = read(0, inbuf + inlen, incap - inlen);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) _exit(0); /* Forge is gone */
  inlen += (size_t)n;
  size_t at = 0;
  while (inlen - at >= HEADER) {
    uint32_t len = get32(inbuf + at);
    if (len > MAX_REQUEST) {
      fprintf(stderr, "forge-spawn: request of %u bytes refused\n", len);
      _exit(2);
    }
    if (inlen - at < HEADER + (size_t)len) {
      if (incap < HEADER + (size_t)len) {
        incap = HEADER + (size_t)len;
        memmove(inbuf, inbuf + at, inlen - at);
        inlen -= at;
        at = 0;
        inbuf = realloc(inbuf, incap);
        if (!inbuf) abort();
      }
      break;
    }
    handle_request(inbuf[at + 8], get32(inbuf + at + 4), inbuf + at + HEADER, len);
    at += HEADER + len;
  }
  memmove(inbuf, inbuf + at, inlen - at);
  inlen -= at;
}

/* Reads what the pipe holds (up to CHUNK) and sends it as one event; EOF ends that stream.
 * Returns how many bytes it read. */
static size_t drain(struct run *r, int *fd, uint8_t data_type, uint8_t end_type) {
  size_t got = 0;
  int ended = 0;
  while (got < CHUNK) {
    ssize_t n = read(*fd, chunk + got, CHUNK - got);
    if (n > 0) {
      got += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    ended = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    break;
  }
  if (got) send_event(data_type, r->id, chunk, got);
  if (ended) {
    close(*fd);
    *fd = -1;
    send_event(end_type, r->id, NULL, 0);
  }
  return got;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (struct run *r = runs; r; r = r->next) {
      if (r->pid != pid) continue;
      /* Dead before its start was told: the error pipe is at its end now. */
      if (r->err >= 0) {
        fcntl(r->err, F_SETFL, 0);
        check_start(r);
      }
      if (r->failed) {
        r->exited = 1;
        forget_if_done(r);
        break;
      }
      unsigned char payload[8];
      put32(payload, WIFEXITED(status) ? (uint32_t)WEXITSTATUS(status) : (uint32_t)-1);
      put32(payload + 4, WIFSIGNALED(status) ? (uint32_t)WTERMSIG(status) : 0);
      r->exited = 1;
      r->next_read = 0; /* the rest of the output promptly */
      send_event(EV_EXIT, r->id, payload, 8);
      forget_if_done(r);
      break;
    }
  }
}

int main(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);
  fcntl(2, F_SETFD, FD_CLOEXEC);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd < 0) {
    perror("forge-spawn: signalfd");
    return 1;
  }
  struct pollfd *pfds = NULL;
  struct run **owners = NULL;
  size_t cap = 0;
  for (;;) {
    size_t count = 0;
    for (struct run *r = runs; r; r = r->next) count += 3;
    if (count + 2 > cap) {
      cap = (count + 2) * 2;
      pfds = realloc(pfds, cap * sizeof *pfds);
      owners = realloc(owners, cap * sizeof *owners);
      if (!pfds || !owners) abort();
    }
    size_t n = 0;
    pfds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    pfds[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    long long now = now_ms();
    int timeout = -1;
    for (struct run *r = runs; r; r = r->next) {
      if (r->err >= 0) {
        owners[n] = r;
        pfds[n++] = (struct pollfd){.fd = r->err, .events = POLLIN};
        continue; /* its output is read once it has started */
      }
      /* The status first: a status line written before output ends is sent before its end. */
      if (r->status >= 0) {
        owners[n] = r;
        pfds[n++] = (struct pollfd){.fd = r->status, .events = POLLIN};
      }
      if (r->out >= 0 && !r->paused) {
        if (r->next_read <= now) {
          owners[n] = r;
          pfds[n++] = (struct pollfd){.fd = r->out, .events = POLLIN};
        } else {
          int wait = (int)(r->next_read - now);
          if (timeout < 0 || wait < timeout) timeout = wait;
        }
      }
    }
    if (poll(pfds, n, timeout) < 0) {
      if (errno == EINTR) continue;
      perror("forge-spawn: poll");
      return 1;
    }
    for (size_t i = 2; i < n; i++) {
      if (!pfds[i].revents) continue;
      struct run *r = owners[i];
      if (pfds[i].fd == r->err) {
        check_start(r);
      } else if (pfds[i].fd == r->out) {
        /* Batches only for a writer that streams: one whose output came again within
         * STREAMING_US of the last read, or filled a page. A line now and then is read at once
         * (live output keeps its latency); a writer that filled half the pipe since the last
         * read is faster than the batches, and is read again as soon as there is more. */
        size_t got = drain(r, &r->out, EV_OUTPUT, EV_OUTPUT_END);
        long long at = now_us();
        int streaming = got >= 4096 || at - r->last_read < STREAMING_US;
        r->last_read = at;
        if (!r->exited)
          r->next_read = got >= CHUNK / 2 || !streaming ? 0 : at / 1000 + BATCH_MS;
      } else if (pfds[i].fd == r->status) {
        (void)drain(r, &r->status, EV_STATUS, EV_STATUS_END);
      }
      forget_if_done(r);
    }
    /* Requests and exits last: a CLOSE or a reaped child may free a run the loop above still
     * pointed at. */
    if (pfds[0].revents) read_requests();
    if (pfds[1].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) > 0) {
      }
      reap();
    }
  }
}
