import type { Scope } from './scope.ts';

export interface BenchContext {
  quick: boolean;
  /** Stops what the benchmark started, even when it throws. */
  scope: Scope;
  /** Progress for the person watching (stderr). */
  log: (message: string) => void;
}

/** One line of the printed table. `met` is set for figures the issue gives a target for. */
export interface Row {
  figure: string;
  value: string;
  target?: string;
  met?: boolean;
}

export interface Benchmark<R extends object> {
  name: string;
  /** The fields the issue asks for; a failed benchmark still writes them, as null. */
  fields: readonly (keyof R & string)[];
  run(ctx: BenchContext): Promise<R>;
  rows(result: R): Row[];
}

/** Formats a number of milliseconds (or anything) for the table. */
export function fmt(value: number, unit = 'ms'): string {
  const digits = Math.abs(value) < 10 ? 2 : Math.abs(value) < 100 ? 1 : 0;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}
