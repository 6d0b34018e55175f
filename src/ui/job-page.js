// One job (#/jobs/ID): its status (live from the event stream), task, attempts, cost, failure,
// result, and the output appended line by line as the agent prints it; Cancel and Retry.
import { api } from './api.js';
import { errorBox, fill, h, money, safeLink, statusBadge, when } from './dom.js';
import { followJob } from './event-stream.js';

/** Lines kept on the page; older ones are dropped (the full log stays at /jobs/ID/log). */
const MAX_LINES = 5000;

export function jobPage(id) {
  const path = `jobs/${encodeURIComponent(id)}`;
  const status = h('span', { class: 'live-status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions' });
  const notice = h('div');
  const details = h('div', { class: 'details' }, h('p', { class: 'muted' }, 'Loading…'));
  const streamState = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const output = h('pre', {
    class: 'output',
    id: 'output',
    tabindex: '0',
    'aria-label': 'Output, newest last',
  });
  const el = h(
    'div',
    {},
    h('p', {}, h('a', { href: '#/jobs' }, '← All jobs')),
    h('h1', {}, 'Job ', h('code', {}, id), ' ', status),
    actions,
    notice,
    details,
    h(
      'section',
      { 'aria-labelledby': 'output-title' },
      h('h2', { id: 'output-title' }, 'Output ', streamState),
      output,
    ),
  );
  let record = null;
  let outputAttempt = 0;
  let lines = 0;

  function showStatus(value) {
    fill(status, statusBadge(value));
    fill(
      actions,
      ['PENDING', 'RUNNING'].includes(value)
        ? h(
            'button',
            { type: 'button', class: 'danger', onclick: () => act('cancel') },
            'Cancel job',
          )
        : null,
      ['FAILED', 'CANCELLED'].includes(value)
        ? h(
            'button',
            { type: 'button', class: 'primary', onclick: () => act('retry') },
            'Retry job',
          )
        : null,
    );
  }

  async function act(action) {
    for (const button of actions.querySelectorAll('button')) button.disabled = true;
    fill(notice);
    try {
      render(await api('POST', `${path}/${action}`));
      if (action === 'retry') follower.start();
    } catch (err) {
      fill(notice, errorBox(err));
      if (record) showStatus(record.status);
    }
  }

  async function refresh() {
    try {
      render(await api('GET', path));
    } catch (err) {
      fill(details, errorBox(err));
    }
  }

  function render(job) {
    record = job;
    showStatus(job.status);
    // The failure first: its message says what to do.
    fill(
      details,
      failureBox(job.failure),
      summary(job),
      resultBox(job),
      attemptsTable(job.attempts ?? []),
    );
  }

  function appendLine({ attempt, line }) {
    const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 40;
    if (attempt !== outputAttempt) {
      outputAttempt = attempt;
      output.append(h('span', { class: 'attempt-mark' }, `── attempt ${attempt} ──`));
    }
    output.append(h('span', { class: 'line' }, line));
    if (++lines > MAX_LINES) output.firstChild.remove();
    if (atBottom) output.scrollTop = output.scrollHeight;
  }

  const STATES = {
    connecting: 'connecting…',
    live: 'live',
    retrying: 'connection lost, reconnecting…',
    ended: 'complete',
    failed: 'stopped',
  };
  const follower = followJob(id, {
    onStatus: (event) => {
      showStatus(event.status);
      // Attempts, cost and failure change with the status: read the record again.
      if (event.status !== record?.status || event.attempt !== record?.attempt_count)
        void refresh();
    },
    onOutput: appendLine,
    onState: (state, err) => {
      streamState.textContent = `(${STATES[state] ?? state})`;
      if (state === 'failed') fill(notice, errorBox(err));
    },
  });

  void refresh();
  follower.start();
  return { el, stop: () => follower.stop() };
}

function row(term, ...value) {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

function summary(job) {
  return h(
    'dl',
    { class: 'facts' },
    row('Task', h('div', { class: 'task' }, job.task)),
    row('Agent', job.agent, job.model ? ` (${job.model})` : ''),
    row('Profile', job.profile ?? '—'),
    job.repo ? row('Repository', safeLink(job.repo.url)) : null,
    row(
      'Cost',
      money(job.cost_usd),
      job.budget_usd != null ? ` of ${money(job.budget_usd)} budget` : '',
    ),
    row('Turns', String(job.turns ?? 0)),
    row('Attempts', `${job.attempt_count} (retries allowed: ${job.max_retries})`),
    job.tags?.length ? row('Tags', job.tags.join(', ')) : null,
    row('Created', when(job.created_at)),
    row('Updated', when(job.updated_at)),
    job.parent_id
      ? row(
          'Follows',
          h('a', { href: `#/jobs/${encodeURIComponent(job.parent_id)}` }, job.parent_id),
        )
      : null,
    job.follow_ups?.length
      ? row(
          'Followed by',
          h(
            'span',
            {},
            ...job.follow_ups.flatMap((id, i) => [
              i > 0 ? ', ' : '',
              h('a', { href: `#/jobs/${encodeURIComponent(id)}` }, id),
            ]),
          ),
        )
      : null,
  );
}

function failureBox(failure) {
  if (!failure) return null;
  return h(
    'section',
    { class: 'failure', 'aria-labelledby': 'failure-title' },
    h('h2', { id: 'failure-title' }, 'Failure: ', failure.category),
    h('p', { class: 'message' }, failure.message),
  );
}

function resultBox(job) {
  const r = job.result;
  if (!r) return null;
  return h(
    'section',
    { 'aria-labelledby': 'result-title' },
    h('h2', { id: 'result-title' }, 'Result'),
    h(
      'dl',
      { class: 'facts' },
      row('Branch', h('code', {}, r.branch), r.wip ? ' (work in progress)' : ''),
      r.pr_url
        ? row('Pull request', safeLink(r.pr_url, r.pr_number ? `#${r.pr_number}` : r.pr_url))
        : null,
      r.commit ? row('Commit', h('code', {}, r.commit.slice(0, 12))) : null,
      row(
        'Change',
        r.no_changes ? 'no changes' : `${r.changed_files} files, +${r.insertions} −${r.deletions}`,
      ),
    ),
  );
}

function attemptsTable(attempts) {
  if (attempts.length === 0) return h('p', { class: 'muted' }, 'No attempt has started yet.');
  const head = ['#', 'Started', 'Finished', 'Exit code', 'Failure', 'Cost', 'Turns'];
  return h(
    'section',
    { 'aria-labelledby': 'attempts-title' },
    h('h2', { id: 'attempts-title' }, 'Attempts'),
    h(
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
            head.map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          attempts.map((a) =>
            h(
              'tr',
              {},
              h('td', {}, String(a.number)),
              h('td', {}, when(a.started_at)),
              h('td', {}, a.finished_at ? when(a.finished_at) : 'running'),
              h('td', { class: 'num' }, a.exit_code ?? '—'),
              h(
                'td',
                {},
                a.failure ? h('span', { title: a.failure.message }, a.failure.category) : '—',
              ),
              h('td', { class: 'num' }, money(a.cost_usd)),
              h('td', { class: 'num' }, a.turns ?? '—'),
            ),
          ),
        ),
      ),
    ),
    attempts
      .filter((a) => a.diff_stat || a.summary)
      .map((a) =>
        h(
          'details',
          {},
          h('summary', {}, `Attempt ${a.number}: summary and changes`),
          a.summary ? h('p', {}, a.summary) : null,
          a.diff_stat ? h('pre', { class: 'diff-stat' }, a.diff_stat) : null,
        ),
      ),
  );
}
