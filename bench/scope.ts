/**
 * Cleanups for what a benchmark starts (servers, processes, temp dirs), run in reverse order when
 * the benchmark ends — also when it throws or the run is interrupted.
 */
export class Scope {
  private cleanups: Array<() => unknown> = [];

  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  /** Runs `fn` with a scope of its own, closed when `fn` settles (or when this scope closes). */
  async child<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
    const child = new Scope();
    const close = () => child.close();
    this.defer(close);
    const settle = async () => {
      this.cleanups = this.cleanups.filter((c) => c !== close);
      return child.close();
    };
    let result: T;
    try {
      result = await fn(child);
    } catch (err) {
      await settle();
      throw err;
    }
    const [failed] = await settle();
    if (failed) throw failed;
    return result;
  }

  /** Runs every cleanup, newest first; returns what failed instead of throwing. Idempotent. */
  async close(): Promise<Error[]> {
    const errors: Error[] = [];
    for (let cleanup = this.cleanups.pop(); cleanup; cleanup = this.cleanups.pop()) {
      try {
        await cleanup();
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return errors;
  }
}
