// One steward (#/stewards/NAME): status, schedule, budgets and spend, its last runs (each linking
// to its job page), Pause or Resume and Wake now, and its notes (steward-notes.js). Everything
// from the API goes in as text.
import { api } from './api.js';
import { errorBox, fill, h, money, statusBadge, when } from './dom.js';
import { stewardNotes } from './steward-notes.js';
import { every, nextRunText, REFRESH_MS, spendText, stewardStatus } from './stewards-page.js';

export function stewardPage(name) {
  const path = `stewards/${encodeURIComponent(name)}`;
  const status = h('span', { class: 'live-status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions' });
  const notice = h('div');
  const details = h('div', { class: 'details' }, h('p', { class: 'muted' }, 'Loading…'));
  const notes = stewardNotes(path, () => poll.now());
  const el = h(
    'div',
    {},
    h('p', {}, h('a', { href: '#/stewards' }, '← All stewards')),
    h('h1', {}, 'Steward ', h('code', {}, name), ' ', status),
    actions,
    notice,
    details,
    notes.el,
  );
  let view = null;
  // Only the answer to the latest request is shown: a slow read started before an action must
  // not put back the status the action changed.
  let latest = 0;

  function showActions() {
    fill(
      actions,
      view.paused
        ? h('button', { type: 'button', class: 'primary', onclick: () => act('resume') }, 'Resume')
        : h('button', { type: 'button', onclick: () => act('pause') }, 'Pause'),
      h('button', { type: 'button', onclick: () => act('wake') }, 'Wake now'),
    );
  }

  async function act(action) {
    for (const button of actions.querySelectorAll('button')) button.disabled = true;
    fill(notice);
    const mine = ++latest;
    try {
      const next = await api('POST', `${path}/${action}`);
      if (mine === latest) render(next);
    } catch (err) {
      fill(notice, errorBox(err));
      if (view) showActions();
    }
  }

  async function load() {
    const mine = ++latest;
    try {
      const next = await api('GET', path);
      if (mine === latest) render(next);
      await notes.load(next.notes?.version ?? 0);
    } catch (err) {
      if (mine === latest) fill(details, errorBox(err));
    }
  }

  function render(next) {
    view = next;
    fill(status, stewardStatus(view));
    showActions();
    fill(details, facts(view), runsTable(view.last_runs ?? []));
  }

  const poll = every(REFRESH_MS, load);
  return { el, stop: () => poll.stop() };
}

function row(term, ...value) {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

function facts(view) {
  const pending = view.pending;
  return h(
    'dl',
    { class: 'facts' },
    row('Repository', view.repo),
    row('Prompt', h('div', { class: 'task' }, view.prompt)),
    row('Agent', view.agent ?? 'the default', view.profile ? ` (profile ${view.profile})` : ''),
    row(
      'Schedule',
      view.schedule ? h('code', {}, view.schedule) : 'none',
      view.schedule ? ` (${view.timezone})` : '',
    ),
    row('Triggers', view.triggers.length ? view.triggers.join(', ') : 'none'),
    row('Next run', nextRunText(view)),
    row(
      'Wake waiting',
      pending
        ? `${pending.reason} at ${when(pending.at)}${pending.by ? ` by ${pending.by}` : ''}`
        : 'none',
    ),
    row('Spent today', spendText(view.spend.today_usd, view.budget.per_day)),
    row('Spent this month', spendText(view.spend.month_usd, view.budget.per_month)),
    view.budget.resets_at ? row('Budget resets', when(view.budget.resets_at)) : null,
    view.last_error
      ? row(
          'Could not start a run',
          h(
            'span',
            { class: 'failure' },
            `${view.last_error.message} (${when(view.last_error.at)})`,
          ),
        )
      : null,
    row(
      'Runs',
      String(view.runs),
      view.current_job && view.status === 'running'
        ? [
            '; running now: ',
            h('a', { href: `#/jobs/${encodeURIComponent(view.current_job)}` }, view.current_job),
          ]
        : '',
    ),
  );
}

function runsTable(runs) {
  return h(
    'section',
    { 'aria-labelledby': 'runs-title' },
    h('h2', { id: 'runs-title' }, 'Last runs'),
    runs.length === 0
      ? h('p', { class: 'muted' }, 'No run yet.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Job', 'Status', 'Started', 'Updated', 'Cost'].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              runs.map((run) =>
                h(
                  'tr',
                  {},
                  h(
                    'td',
                    {},
                    h('a', { href: `#/jobs/${encodeURIComponent(run.id)}` }, h('code', {}, run.id)),
                  ),
                  h('td', {}, statusBadge(run.status)),
                  h('td', {}, when(run.created_at)),
                  h('td', {}, when(run.updated_at)),
                  h('td', { class: 'num' }, money(run.cost_usd)),
                ),
              ),
            ),
          ),
        ),
  );
}
