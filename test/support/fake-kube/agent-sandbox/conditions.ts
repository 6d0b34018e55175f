/** Status conditions as apimachinery's meta.SetStatusCondition keeps them. */
import { now } from '../object-store.ts';
import type { Condition } from './types.ts';

export type NewCondition = Omit<Condition, 'lastTransitionTime'>;

/** `conditions` with `next` set; lastTransitionTime moves only when the status changes. */
export function withCondition(
  conditions: Condition[] | undefined,
  next: NewCondition,
): Condition[] {
  const list = conditions ?? [];
  const old = list.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : now();
  return [...list.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}

export function findCondition(
  conditions: Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}
