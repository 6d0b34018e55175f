/* global location */
// The list page (#/jobs?status=…&tags=…&q=…&limit=…&offset=…): an overview (counts by status and
// by failure category, cost over time) and a filtered, paged table of jobs.
import { api } from './api.js';
import { costChart } from './cost-chart.js';
import { errorBox, fill, h, money, statusBadge, when } from './dom.js';

export const STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
/** How many of the latest jobs the failure counts and the cost chart are drawn from. */
const OVERVIEW_JOBS = 500;
const PAGE_SIZES = [20, 50, 100];

function readQuery(params) {
  const limit = Number(params.get('limit'));
  return {
    statuses: (params.get('status') ?? '').split(',').filter((s) => STATUSES.includes(s)),
    tags: params.get('tags') ?? '',
    q: params.get('q') ?? '',
    limit: PAGE_SIZES.includes(limit) ? limit : 20,
    offset: Math.max(0, Math.floor(Number(params.get('offset')) || 0)),
  };
}

function hashFor(query) {
  const params = new URLSearchParams();
  if (query.statuses.length) params.set('status', query.statuses.join(','));
  if (query.tags) params.set('tags', query.tags);
  if (query.q) params.set('q', query.q);
  if (query.limit !== 20) params.set('limit', String(query.limit));
  if (query.offset) params.set('offset', String(query.offset));
  const text = params.toString();
  return `#/jobs${text ? `?${text}` : ''}`;
}

function apiQuery(query) {
  const params = new URLSearchParams({ limit: String(query.limit), offset: String(query.offset) });
  if (query.statuses.length) params.set('status', query.statuses.join(','));
  const tags = query.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length) params.set('tags', tags.join(','));
  return `jobs?${params}`;
}

export function jobsPage(params) {
  const overview = h('section', { class: 'overview', 'aria-labelledby': 'overview-title' });
  const results = h('section', { 'aria-labelledby': 'jobs-title', 'aria-busy': 'true' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' });
  const el = h('div', {}, h('h1', {}, 'Jobs'), overview, filters, results);
  let query = readQuery(params);
  let jobs = [];

  const go = (next) => {
    location.hash = hashFor(next);
  };

  function renderFilters() {
    const checks = STATUSES.map((s) =>
      h(
        'label',
        { class: 'check' },
        h('input', {
          type: 'checkbox',
          name: 'status',
          value: s,
          checked: query.statuses.includes(s),
        }),
        ` ${s.toLowerCase()}`,
      ),
    );
    const search = h('input', { id: 'filter-q', name: 'q', type: 'search', value: query.q });
    search.addEventListener('input', () => renderTable());
    fill(
      filters,
      h('fieldset', {}, h('legend', {}, 'Status'), checks),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'filter-q' }, 'Search tasks on this page'),
        search,
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'filter-tags' }, 'Tags (comma-separated, all must match)'),
        h('input', { id: 'filter-tags', name: 'tags', value: query.tags, autocomplete: 'off' }),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'filter-limit' }, 'Per page'),
        h(
          'select',
          { id: 'filter-limit', name: 'limit' },
          PAGE_SIZES.map((n) => h('option', { value: n, selected: n === query.limit }, String(n))),
        ),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      ),
    );
  }

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(filters);
    go({
      statuses: form.getAll('status'),
      tags: String(form.get('tags') ?? '').trim(),
      q: String(form.get('q') ?? '').trim(),
      limit: Number(form.get('limit')),
      offset: 0,
    });
  });
  filters.addEventListener('change', (event) => {
    if (event.target.name === 'status' || event.target.name === 'limit') filters.requestSubmit();
  });

  function renderTable(total = results.dataset.total) {
    const needle = filters.elements.q?.value.trim().toLowerCase() ?? query.q.toLowerCase();
    const shown = needle ? jobs.filter((j) => j.task.toLowerCase().includes(needle)) : jobs;
    const rows = shown.map((job) =>
      h(
        'tr',
        {},
        h(
          'td',
          {},
          h(
            'a',
            { href: `#/jobs/${encodeURIComponent(job.id)}` },
            job.task.split('\n')[0].slice(0, 120) || job.id,
          ),
        ),
        h(
          'td',
          {},
          statusBadge(job.status),
          job.failure ? h('span', { class: 'muted' }, ` ${job.failure.category}`) : null,
        ),
        h('td', {}, job.agent),
        h('td', {}, (job.tags ?? []).join(', ')),
        h('td', { class: 'num' }, money(job.cost_usd)),
        h('td', {}, h('time', { datetime: job.created_at }, when(job.created_at))),
      ),
    );
    const first = Number(total) === 0 ? 0 : query.offset + 1;
    const last = query.offset + jobs.length;
    fill(
      results,
      h('h2', { id: 'jobs-title' }, 'Job list'),
      h(
        'p',
        { class: 'muted', 'aria-live': 'polite' },
        `Jobs ${first}–${last} of ${total}, newest first`,
        needle ? `; ${shown.length} match “${needle}”` : '',
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'jobs' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Task', 'Status', 'Agent', 'Tags', 'Cost', 'Created'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            rows.length
              ? rows
              : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No jobs match.')),
          ),
        ),
      ),
      h(
        'nav',
        { class: 'pager', 'aria-label': 'Pages' },
        query.offset > 0
          ? h(
              'a',
              {
                href: hashFor({ ...query, offset: Math.max(0, query.offset - query.limit) }),
                rel: 'prev',
              },
              '← Newer',
            )
          : null,
        last < Number(total)
          ? h('a', { href: hashFor({ ...query, offset: last }), rel: 'next' }, 'Older →')
          : null,
      ),
    );
  }

  async function loadTable() {
    results.setAttribute('aria-busy', 'true');
    try {
      const page = await api('GET', apiQuery(query));
      jobs = page.jobs;
      results.dataset.total = String(page.total);
      renderTable(page.total);
    } catch (err) {
      fill(results, h('h2', { id: 'jobs-title' }, 'Job list'), errorBox(err));
    } finally {
      results.removeAttribute('aria-busy');
    }
  }

  async function loadOverview() {
    try {
      const [counts, recent] = await Promise.all([statusCounts(), latestJobs()]);
      renderOverview(counts, recent);
    } catch (err) {
      fill(overview, h('h2', { id: 'overview-title' }, 'Overview'), errorBox(err));
    }
  }

  function renderOverview(counts, recent) {
    const failures = new Map();
    for (const job of recent) {
      if (job.failure)
        failures.set(job.failure.category, (failures.get(job.failure.category) ?? 0) + 1);
    }
    fill(
      overview,
      h('h2', { id: 'overview-title' }, 'Overview'),
      h(
        'div',
        { class: 'cards' },
        h(
          'div',
          { class: 'card' },
          h('h3', {}, 'By status'),
          h(
            'ul',
            { class: 'counts' },
            STATUSES.map((s, i) =>
              h(
                'li',
                {},
                h(
                  'a',
                  { href: hashFor({ ...query, statuses: [s], offset: 0 }) },
                  statusBadge(s),
                  h('span', { class: 'count' }, String(counts[i])),
                ),
              ),
            ),
          ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h3', {}, 'By failure'),
          failures.size
            ? h(
                'ul',
                { class: 'counts' },
                [...failures]
                  .sort((a, b) => b[1] - a[1])
                  .map(([category, n]) =>
                    h('li', {}, h('span', {}, category), h('span', { class: 'count' }, String(n))),
                  ),
              )
            : h('p', { class: 'muted' }, 'No failures.'),
          h('p', { class: 'muted small' }, `Of the latest ${recent.length} jobs.`),
        ),
        h('div', { class: 'card wide' }, h('h3', {}, 'Cost over time'), costChart(recent)),
      ),
    );
  }

  renderFilters();
  fill(
    overview,
    h('h2', { id: 'overview-title' }, 'Overview'),
    h('p', { class: 'muted' }, 'Loading…'),
  );
  void loadOverview();
  void loadTable();

  return {
    el,
    /** A new query on the same page: the table follows, the overview stays. */
    update(next) {
      query = readQuery(next);
      renderFilters();
      void loadTable();
    },
  };
}

async function statusCounts() {
  return Promise.all(
    STATUSES.map(async (s) => (await api('GET', `jobs?status=${s}&limit=1`)).total),
  );
}

async function latestJobs() {
  const first = await api('GET', 'jobs?limit=100');
  const pages = [];
  for (let offset = 100; offset < Math.min(first.total, OVERVIEW_JOBS); offset += 100) {
    pages.push(api('GET', `jobs?limit=100&offset=${offset}`));
  }
  return [first, ...(await Promise.all(pages))].flatMap((p) => p.jobs);
}
