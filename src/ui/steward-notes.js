// A steward's notes on its page: the latest version (who wrote it, when, in which run), earlier
// versions, and an edit box. Notes are Markdown an agent wrote: untrusted, so they are shown as
// preformatted text, never rendered.
import { api } from './api.js';
import { errorBox, fill, h, when } from './dom.js';

/** Versions listed (the API keeps up to 100). */
const HISTORY = 20;

/**
 * The notes section for the steward at API path `path` (`stewards/NAME`). `load(version)` reads
 * the notes when `version` differs from what is shown; `onSaved` runs after an edit is kept.
 */
export function stewardNotes(path, onSaved) {
  const latest = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const history = h('div');
  const message = h('p', { class: 'muted small', role: 'status' });
  const problem = h('div');
  const text = h('textarea', { id: 'notes-text', name: 'text', rows: 14, spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'notes-edit', hidden: true, 'aria-label': 'Edit notes' },
    h('label', { for: 'notes-text' }, 'Notes (Markdown; the next run reads them)'),
    text,
    problem,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save notes'),
      h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
    ),
  );
  const edit = h('button', { type: 'button', onclick: () => open() }, 'Edit notes');
  const el = h(
    'section',
    { 'aria-labelledby': 'notes-title' },
    h('h2', { id: 'notes-title' }, 'Notes'),
    latest,
    h('div', { class: 'actions' }, edit),
    message,
    form,
    history,
  );
  let shown = null;
  let current = null;
  let editingFrom = null;

  function open() {
    editingFrom = current?.version ?? 0;
    text.value = current?.text ?? '';
    fill(problem);
    fill(message);
    form.hidden = false;
    edit.hidden = true;
    text.focus();
  }

  function close() {
    editingFrom = null;
    form.hidden = true;
    edit.hidden = false;
    fill(problem);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });

  async function save() {
    const buttons = form.querySelectorAll('button');
    for (const button of buttons) button.disabled = true;
    fill(problem);
    try {
      const saved = await api('PUT', `${path}/notes`, { text: text.value });
      close();
      fill(message, `Saved as version ${saved.version}.`);
      await load(saved.version);
      onSaved();
    } catch (err) {
      fill(problem, errorBox(err));
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  async function load(version) {
    if (version === shown) return;
    try {
      const answer = await api('GET', `${path}/notes?history=${HISTORY}`);
      shown = answer.notes?.version ?? 0;
      current = answer.notes;
      fill(latest, latestNotes(answer.notes));
      fill(history, earlier(answer.history.slice(1)));
      // Someone (often the steward's own run) wrote a newer version while this edit was open.
      if (editingFrom !== null && shown !== editingFrom)
        fill(
          problem,
          h(
            'p',
            { class: 'error', role: 'alert' },
            `The notes changed to version ${shown} since you began editing; saving replaces that version with your text.`,
          ),
        );
    } catch (err) {
      fill(latest, errorBox(err));
    }
  }

  return { el, load };
}

/** "Version 3, 12/06/2026 10:00 by job:01J…" with a link to the run that wrote it. */
function byline(notes) {
  return h(
    'p',
    { class: 'muted small notes-byline' },
    `Version ${notes.version}, ${when(notes.at)} by ${notes.by}`,
    notes.job_id
      ? [
          ' (run ',
          h('a', { href: `#/jobs/${encodeURIComponent(notes.job_id)}` }, notes.job_id),
          ')',
        ]
      : null,
  );
}

function latestNotes(notes) {
  if (!notes) return h('p', { class: 'muted' }, 'No notes yet: the first run writes them.');
  return [byline(notes), h('pre', { class: 'notes', 'aria-label': 'Latest notes' }, notes.text)];
}

function earlier(versions) {
  if (versions.length === 0) return null;
  return [
    h('h3', {}, 'Earlier versions'),
    ...versions.map((notes) =>
      h(
        'details',
        { class: 'notes-version' },
        h('summary', {}, `Version ${notes.version}, ${when(notes.at)} by ${notes.by}`),
        byline(notes),
        h('pre', { class: 'notes' }, notes.text),
      ),
    ),
  ];
}
