// The stewards page (#/stewards): every configured steward with its status, next run, spend
// against its budgets and latest run, each linking to its own page. Read again every few seconds
// (a steward's status changes as its runs start and end; there is no event stream for it).
import { api } from './api.js';
import { errorBox, fill, h, money, statusBadge, when } from './dom.js';

/** How often a stewards page reads the steward(s) again. */
export const REFRESH_MS = 5000;

const STATUS_TEXT = {
  running: 'running',
  idle: 'idle',
  paused: 'paused',
  paused_budget: 'paused for budget',
};

/** The steward's status as a badge; paused for budget says until when. */
export function stewardStatus(view) {
  return h(
    'span',
    { class: 'steward-status', 'data-status': view.status },
    statusBadge(STATUS_TEXT[view.status] ?? view.status),
    view.status === 'paused_budget' && view.budget?.resets_at
      ? h('span', { class: 'muted' }, ` until ${when(view.budget.resets_at)}`)
      : null,
  );
}

/** Spent of budget, e.g. "$1.20 of $5.00" or "$1.20 (no budget)". */
export function spendText(spent, budget) {
  return budget === null || budget === undefined
    ? `${money(spent)} (no budget)`
    : `${money(spent)} of ${money(budget)}`;
}

export function nextRunText(view) {
  if (view.next_run) return when(view.next_run);
  return view.schedule ? '—' : 'only when woken';
}

export function stewardLink(name) {
  return h('a', { href: `#/stewards/${encodeURIComponent(name)}` }, name);
}

/**
 * Calls `load` now and again `ms` after each call ends, until `stop`. Returns `{stop, now}`;
 * `now()` reads at once (after an action) and restarts the wait.
 */
export function every(ms, load) {
  let timer = null;
  let stopped = false;
  async function tick() {
    clearTimeout(timer);
    await load();
    if (!stopped) timer = setTimeout(() => void tick(), ms);
  }
  void tick();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    now: () => tick(),
  };
}

export function stewardsPage() {
  const results = h('section', { 'aria-labelledby': 'stewards-title', 'aria-busy': 'true' });
  const el = h(
    'div',
    {},
    h('h1', {}, 'Stewards'),
    h(
      'p',
      { class: 'muted' },
      'Long-lived agents: each runs on its schedule or when woken, as an ordinary job, with notes carried from run to run.',
    ),
    results,
  );

  async function load() {
    try {
      render((await api('GET', 'stewards')).stewards);
    } catch (err) {
      fill(results, h('h2', { id: 'stewards-title' }, 'Steward list'), errorBox(err));
    } finally {
      results.removeAttribute('aria-busy');
    }
  }

  function render(stewards) {
    const head = ['Name', 'Status', 'Next run', 'Today', 'This month', 'Runs', 'Last run', 'Notes'];
    fill(
      results,
      h('h2', { id: 'stewards-title' }, 'Steward list'),
      stewards.length === 0
        ? h(
            'p',
            { class: 'muted' },
            'No stewards are configured. Add them under stewards: in forge.yaml (see the README).',
          )
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'stewards' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  head.map((t) => h('th', { scope: 'col' }, t)),
                ),
              ),
              h('tbody', {}, stewards.map(row)),
            ),
          ),
    );
  }

  const poll = every(REFRESH_MS, load);
  return { el, stop: () => poll.stop() };
}

function row(view) {
  const last = view.last_runs?.[0];
  return h(
    'tr',
    {},
    h('td', {}, stewardLink(view.name), h('div', { class: 'muted small' }, view.repo)),
    h('td', {}, stewardStatus(view)),
    h('td', {}, nextRunText(view)),
    h('td', {}, spendText(view.spend.today_usd, view.budget.per_day)),
    h('td', {}, spendText(view.spend.month_usd, view.budget.per_month)),
    h('td', { class: 'num' }, String(view.runs)),
    h(
      'td',
      {},
      last
        ? [
            h('a', { href: `#/jobs/${encodeURIComponent(last.id)}` }, when(last.created_at)),
            ' ',
            statusBadge(last.status),
          ]
        : h('span', { class: 'muted' }, 'none yet'),
    ),
    h('td', {}, view.notes ? `version ${view.notes.version}` : h('span', { class: 'muted' }, '—')),
  );
}
