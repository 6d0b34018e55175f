/* global location */
// The submit form (#/new): POST /jobs, then the new job's page. API errors are shown as they are.
import { api } from './api.js';
import { errorBox, fill, h } from './dom.js';

function field(id, text, input, hint) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, text),
    input,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
  );
}

function input(id, attrs = {}) {
  return h('input', { id, name: id.replace(/^job-/, ''), autocomplete: 'off', ...attrs });
}

export function submitPage() {
  const problem = h('div');
  const form = h(
    'form',
    { class: 'submit', 'aria-labelledby': 'submit-title' },
    field(
      'job-task',
      'Task',
      h('textarea', { id: 'job-task', name: 'task', rows: 6, required: true }),
    ),
    field(
      'job-repo',
      'Repository',
      input('job-repo', { 'aria-describedby': 'job-repo-hint' }),
      'A name under repos: or an https:// clone URL; empty for no repository.',
    ),
    field('job-profile', 'Profile', input('job-profile')),
    field(
      'job-agent',
      'Agent',
      input('job-agent', { 'aria-describedby': 'job-agent-hint' }),
      'Empty for the default agent.',
    ),
    field(
      'job-budget',
      'Budget (USD)',
      input('job-budget', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal' }),
    ),
    field(
      'job-tags',
      'Tags',
      input('job-tags', { 'aria-describedby': 'job-tags-hint' }),
      'Comma-separated.',
    ),
    problem,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Submit job')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    fill(problem);
    try {
      const created = await api('POST', 'jobs', jobBody(new FormData(form)));
      location.hash = `#/jobs/${encodeURIComponent(created.id)}`;
    } catch (err) {
      fill(problem, errorBox(err));
      button.disabled = false;
    }
  });
  const el = h('div', {}, h('h1', { id: 'submit-title' }, 'New job'), form);
  return { el, focus: () => form.elements.task.focus() };
}

function jobBody(form) {
  const text = (name) => String(form.get(name) ?? '').trim();
  const body = { task: String(form.get('task') ?? '') };
  for (const name of ['repo', 'profile', 'agent']) if (text(name)) body[name] = text(name);
  if (text('budget')) body.budget_usd = Number(text('budget'));
  const tags = text('tags')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length) body.tags = tags;
  return body;
}
