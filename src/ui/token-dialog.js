/* global document */
// The token prompt: one modal form, shown when the API answers 401. Concurrent requests that
// were refused share one prompt.
import { h } from './dom.js';

let pending = null;

/** Resolves the token the person entered, or null when they dismissed the prompt. */
export function askForToken(reason) {
  pending ??= prompt(reason).finally(() => (pending = null));
  return pending;
}

function prompt(reason) {
  return new Promise((resolve) => {
    const input = h('input', {
      id: 'token-input',
      name: 'token',
      type: 'password',
      required: true,
      autocomplete: 'current-password',
      spellcheck: 'false',
    });
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'token-title' }, 'API token needed'),
      h(
        'p',
        { id: 'token-why' },
        reason ??
          'This Forge server asks for a bearer token (one of server.tokens in its configuration). It is kept in this browser only.',
      ),
      h('label', { for: 'token-input' }, 'Token'),
      input,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Use token'),
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
      ),
    );
    const dialog = h(
      'dialog',
      { class: 'token-dialog', 'aria-labelledby': 'token-title', 'aria-describedby': 'token-why' },
      form,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      dialog.close(token);
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue || null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
