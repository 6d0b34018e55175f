/**
 * The orchestrator's spec names paths under its attempt directory (workspace, private home and
 * tmp, the prompt file); a worker has its own directory for them. A path is mapped where the
 * directory appears whole: followed by `/`, the end, or a character no path name continues with
 * (`:` in PATH-like lists, `=` or a quote in a flag) — never inside a longer name
 * (`attempt-1` is not a prefix of `attempt-10`) nor at the end of a longer path
 * (`/x/data` does not hold `/data`).
 */

const NAME_CHAR = /[A-Za-z0-9._@+~-]/;

/** `value` with every whole occurrence of directory `from` replaced by `to`. */
export function mapPath(value: string, from: string, to: string): string {
  if (from === '' || from === to) return value;
  let out = '';
  let at = 0;
  for (;;) {
    const found = value.indexOf(from, at);
    if (found === -1) return out + value.slice(at);
    const before = found === 0 ? undefined : value[found - 1];
    const next = value[found + from.length];
    const whole =
      (before === undefined || (before !== '/' && !NAME_CHAR.test(before))) &&
      (next === undefined || !NAME_CHAR.test(next));
    out += value.slice(at, found) + (whole ? to : from);
    at = found + from.length;
  }
}

export function mapCommand(command: string[], from: string, to: string): string[] {
  return command.map((arg) => mapPath(arg, from, to));
}

export function mapEnv(
  env: Record<string, string>,
  from: string,
  to: string,
): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, mapPath(v, from, to)]));
}
