// The wire format between Forge and forge-spawn (native/forge-spawn.c): frames of a 9-byte header
// (u32 LE payload length, u32 LE run id, u8 type) and the payload. Requests go to the helper's
// stdin, events come from its stdout.

export const REQUEST = { spawn: 1, close: 2, pause: 3, resume: 4 } as const;
export const EVENT = {
  started: 1,
  failed: 2,
  output: 3,
  outputEnd: 4,
  status: 5,
  statusEnd: 6,
  exit: 7,
} as const;

const HEADER = 9;
/** The helper refuses larger requests (8 MiB), so Forge does too, with a clearer reason. */
export const MAX_REQUEST = 8 << 20;

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

export function encodeFrame(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(id, 4);
  header.writeUInt8(type, 8);
  return payload.length ? Buffer.concat([header, payload]) : header;
}

export type SpawnInput =
  { kind: 'null' } | { kind: 'file'; path: string } | { kind: 'data'; data: Buffer };

export interface SpawnRequest {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** A cgroup v2 directory the child joins before it execs. */
  cgroup: string | null;
  stdin: SpawnInput;
  /** Also give the child this descriptor (3..9), a pipe whose text arrives as status events. */
  statusFd?: number;
  /** Append stdout and stderr to this file instead of sending them as output events. */
  outputPath?: string;
}

const STDIN_KIND = { null: 0, file: 1, data: 2 } as const;

/** The SPAWN payload: five u32 (argc, envc, status fd, stdin kind, stdin length), then
 *  NUL-terminated cwd, cgroup, stdin path, output path, argv, env, then the stdin bytes.
 *  Throws on what C strings cannot carry (a NUL inside any of them). */
export function encodeSpawn(req: SpawnRequest): Buffer {
  if (req.argv.length === 0) throw new Error('nothing to run: the command is empty');
  const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
  const strings = [
    req.cwd,
    req.cgroup ?? '',
    req.stdin.kind === 'file' ? req.stdin.path : '',
    req.outputPath ?? '',
    ...req.argv,
    ...env,
  ];
  for (const s of strings) {
    if (s.includes('\0'))
      throw new Error(`a NUL byte cannot be passed to a process: ${s.slice(0, 60)}`);
  }
  const data = req.stdin.kind === 'data' ? req.stdin.data : Buffer.alloc(0);
  const head = Buffer.allocUnsafe(20);
  head.writeUInt32LE(req.argv.length, 0);
  head.writeUInt32LE(env.length, 4);
  head.writeUInt32LE(req.statusFd ?? 0, 8);
  head.writeUInt32LE(STDIN_KIND[req.stdin.kind], 12);
  head.writeUInt32LE(data.length, 16);
  const payload = Buffer.concat([head, Buffer.from(`${strings.join('\0')}\0`, 'utf8'), data]);
  if (payload.length > MAX_REQUEST) {
    throw new Error(`the process's command, environment and input exceed ${MAX_REQUEST} bytes`);
  }
  return payload;
}

/** Splits a byte stream into frames, whatever the boundaries it arrives in. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the first pending frame needs in all, once its header has arrived: until then the
   *  pieces are kept apart, so a large frame in many pieces is copied once, not once per piece. */
  private need = HEADER;

  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.need) return [];
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= HEADER) {
      const len = buf.readUInt32LE(at);
      if (buf.length - at < HEADER + len) break;
      frames.push({
        type: buf.readUInt8(at + 8),
        id: buf.readUInt32LE(at + 4),
        payload: buf.subarray(at + HEADER, at + HEADER + len),
      });
      at += HEADER + len;
    }
    buf = buf.subarray(at);
    this.pending = buf.length ? [buf] : [];
    this.pendingBytes = buf.length;
    this.need = buf.length >= HEADER ? HEADER + buf.readUInt32LE(0) : HEADER;
    return frames;
  }
}
