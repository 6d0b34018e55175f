/** The steward store contract: every store keeps stewards' state and notes the same way (see
 *  src/ports/steward-store.ts). */
import { describe, expect, it } from 'vitest';
import type { StewardState } from '../../src/ports/steward-store.ts';
import { useStore, type StoreHarness, type TestClock } from './store-fixtures.ts';

type Next = Omit<StewardState, 'revision' | 'updated_at' | 'created_at'>;
const fresh = (name = 'ci'): Next => ({
  name,
  paused: false,
  pending: null,
  last_tick: null,
  runs: 0,
  current_job: null,
});

export function stewardStoreContract(
  name: string,
  make: (clock: TestClock) => Promise<StoreHarness>,
  durable: boolean,
): void {
  describe(`${name}: stewards`, () => {
    const ctx = useStore(make);

    it('creates a steward once, then changes it only from the revision it holds', async () => {
      const { store } = ctx;
      expect(await store.getSteward('ci')).toBeNull();
      const created = (await store.putSteward(fresh(), null))!;
      expect(created).toMatchObject({ ...fresh(), created_at: '2026-01-01T00:00:00.000Z' });
      expect(await store.putSteward(fresh(), null)).toBeNull();

      ctx.clock.advance(5_000);
      const next: Next = {
        ...fresh(),
        paused: true,
        pending: { reason: 'webhook', at: '2026-01-01T00:00:03.000Z', by: 'webhook:github' },
        last_tick: '2026-01-01T00:00:00.000Z',
        runs: 3,
        current_job: '01JOB',
      };
      const changed = (await store.putSteward(next, created.revision))!;
      expect(changed).toStrictEqual({
        ...next,
        created_at: created.created_at,
        updated_at: '2026-01-01T00:00:05.000Z',
        revision: changed.revision,
      });
      expect(changed.revision).not.toBe(created.revision);
      expect(await store.putSteward(fresh(), created.revision)).toBeNull();
      expect(await store.getSteward('ci')).toStrictEqual(changed);
      // Stewards are independent.
      expect(await store.getSteward('other')).toBeNull();
    });

    it('lets exactly one of two writers from the same revision win', async () => {
      const { store } = ctx;
      const created = (await store.putSteward(fresh(), null))!;
      const results = await Promise.all(
        [1, 2, 3].map((runs) => store.putSteward({ ...fresh(), runs }, created.revision)),
      );
      const won = results.filter((r) => r !== null);
      expect(won).toHaveLength(1);
      expect((await store.getSteward('ci'))!.runs).toBe(won[0]!.runs);
      const creates = await Promise.all([1, 2].map(() => store.putSteward(fresh('new'), null)));
      expect(creates.filter((r) => r !== null)).toHaveLength(1);
    });

    it('keeps notes as versions, each saved only on top of the latest', async () => {
      const { store } = ctx;
      expect(await store.getNotes('ci')).toBeNull();
      expect(await store.notesHistory('ci', 10)).toEqual([]);
      const first = await store.saveNotes('ci', { text: '# one', by: 'job:01A', job_id: '01A' }, 0);
      expect(first).toStrictEqual({
        version: 1,
        text: '# one',
        at: '2026-01-01T00:00:00.000Z',
        by: 'job:01A',
        job_id: '01A',
      });
      expect(await store.saveNotes('ci', { text: 'stale', by: 'api', job_id: null }, 0)).toBeNull();
      ctx.clock.advance(1_000);
      const second = await store.saveNotes(
        'ci',
        { text: '# two ✓', by: 'api:ana', job_id: null },
        1,
      );
      expect(second).toMatchObject({ version: 2, text: '# two ✓', by: 'api:ana', job_id: null });
      expect(await store.getNotes('ci')).toStrictEqual(second);
      expect(await store.notesHistory('ci', 10)).toStrictEqual([second, first]);
      expect(await store.notesHistory('ci', 1)).toStrictEqual([second]);
      expect(await store.notesHistory('ci', 0)).toStrictEqual([]);
      const racing = await Promise.all(
        ['a', 'b'].map((text) => store.saveNotes('ci', { text, by: 'api', job_id: null }, 2)),
      );
      expect(racing.filter((r) => r !== null)).toHaveLength(1);
    });

    it('keeps the newest hundred versions', async () => {
      const { store } = ctx;
      for (let v = 0; v < 105; v++)
        expect(
          await store.saveNotes('ci', { text: `v${v + 1}`, by: 'api', job_id: null }, v),
        ).not.toBeNull();
      const history = await store.notesHistory('ci', 200);
      expect(history).toHaveLength(100);
      expect(history[0]).toMatchObject({ version: 105, text: 'v105' });
      expect(history.at(-1)).toMatchObject({ version: 6, text: 'v6' });
    }, 30_000);

    if (durable)
      it('keeps state and notes when the store is opened again', async () => {
        const { store } = ctx;
        const created = (await store.putSteward({ ...fresh(), runs: 7 }, null))!;
        await store.saveNotes('ci', { text: 'kept', by: 'api', job_id: null }, 0);
        await store.close();
        const again = await ctx.harness.reopen!();
        expect(await again.getSteward('ci')).toEqual(created);
        expect(await again.getNotes('ci')).toMatchObject({ version: 1, text: 'kept' });
      });
  });
}
