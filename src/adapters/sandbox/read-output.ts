// Reads a run's output pipe for its consumer, until the pipe ends or, once the run is over, until
// a deadline: a process that escaped every kill may hold the pipe open for as long as it lives.
import type { Readable } from 'node:stream';

/** Yields what `stream` delivers. When `deadline` fires the output ends as soon as everything
 *  already received has been yielded, even though the pipe is still open: only output written
 *  after the deadline, or still in the kernel's pipe buffer then, is lost. `done` runs once at the
 *  end, however it ends (the consumer stopping early included). */
export function readOutput(
  stream: Readable,
  deadline: AbortSignal,
  done: () => void,
): AsyncGenerator<Buffer> {
  // Listening for 'readable' keeps the stream paused from now on: child_process resumes the
  // output streams of an exited child that nobody listens to, which would drop their data.
  stream.on('readable', () => {});
  stream.on('error', () => {}); // a failed read ends the output; the exit status says the rest
  return chunks(stream, deadline, done);
}

async function* chunks(
  stream: Readable,
  deadline: AbortSignal,
  done: () => void,
): AsyncGenerator<Buffer> {
  try {
    while (!stream.readableEnded && !stream.destroyed) {
      const chunk = stream.read() as Buffer | null;
      if (chunk !== null) {
        yield chunk;
        continue;
      }
      if (deadline.aborted || !(await readable(stream, deadline))) break;
    }
  } finally {
    stream.destroy();
    done();
  }
}

/** Resolves true when `stream` has data or has ended; false when it failed, closed, or `deadline`
 *  came first. */
function readable(stream: Readable, deadline: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (value: boolean) => {
      stream.off('readable', onData);
      stream.off('end', onData);
      stream.off('error', onStop);
      stream.off('close', onStop);
      deadline.removeEventListener('abort', onStop);
      resolve(value);
    };
    const onData = () => settle(true);
    const onStop = () => settle(false);
    stream.on('readable', onData);
    stream.on('end', onData);
    stream.on('error', onStop);
    stream.on('close', onStop);
    deadline.addEventListener('abort', onStop);
  });
}
