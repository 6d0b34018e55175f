/** What the Forgejo/Gitea and GitHub issue trackers decide alike: a managed-label change and the
 *  `since` comparison. */

/** The colour of the labels Forge creates (hex, without `#`). */
export const LABEL_COLOR = 'c5def5';

export interface LabelChange {
  /** The whole label set after the change, in the order. */
  next: string[];
  added: string[];
  removed: string[];
}

/** The labels among `managed` become exactly `wanted`; every other label stays. null: no change. */
export function nextLabels(
  current: readonly string[],
  managed: readonly string[],
  wanted: readonly string[],
): LabelChange | null {
  const removed = current.filter((l) => managed.includes(l) && !wanted.includes(l));
  const added = [...new Set(wanted)].filter((l) => !current.includes(l));
  if (removed.length === 0 && added.length === 0) return null;
  return { next: [...current.filter((l) => !removed.includes(l)), ...added], added, removed };
}

/** Whether `time` is at or after `since`, to the second (forges keep whole seconds, so a `since`
 *  with milliseconds must not drop what happened earlier in the same second). */
export function notBefore(time: string, since: string): boolean {
  const t = Date.parse(time);
  const s = Date.parse(since);
  if (Number.isNaN(t) || Number.isNaN(s)) return true;
  return Math.floor(t / 1000) >= Math.floor(s / 1000);
}
