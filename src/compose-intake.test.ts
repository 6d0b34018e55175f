import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeForgejo, type FakeForgejo } from '../test/support/fake-forgejo.ts';
import { loadConfig } from './config.ts';
import { doorChecks } from './compose-intake.ts';

let forgejo: FakeForgejo;
beforeAll(async () => {
  forgejo = await startFakeForgejo({
    kind: 'forgejo',
    token: 'forge-token-1234',
    repos: ['me/tasks'],
  });
});
afterAll(() => forgejo.close());

const config = () =>
  loadConfig(
    {},
    `forges: {home: {kind: forgejo, url: "${forgejo.url}", token: forge-token-1234}}
intake: {tasks: {kind: issues, forge: home, repo: me/tasks, allowed_users: [me]}}`,
  );

describe('forge doctor for the doors', () => {
  it("says an issue source's forge answers, and that without a webhook secret it only polls", async () => {
    const [check] = await doorChecks(config());
    expect(check).toMatchObject({ name: 'intake.tasks', ok: true, level: 'ok' });
    expect(check!.detail).toContain('@forge-bot');
    expect(check!.detail).toContain('only polling every 1m');
  });

  it('warns, without failing, when the forge is down', async () => {
    forgejo.down(true);
    try {
      const [check] = await doorChecks(config());
      expect(check).toMatchObject({ name: 'intake.tasks', ok: false, level: 'warn' });
      expect(check!.detail).not.toContain('forge-token-1234');
    } finally {
      forgejo.down(false);
    }
  });
});
