/* global document */
// Small DOM helpers. Text always goes in as text nodes, never as HTML.

/**
 * Makes an element: `h('a', { href: '#/jobs', class: 'x' }, 'text', child)`. Attributes whose
 * value is null, undefined or false are left out; `true` sets an empty attribute; `on*`
 * functions become event listeners.
 */
export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link only when the URL is http(s): data from the API never becomes a `javascript:` link. */
export function safeLink(url, text) {
  return /^https?:\/\//i.test(url ?? '')
    ? h('a', { href: url, rel: 'noreferrer noopener', target: '_blank' }, text ?? url)
    : h('span', {}, text ?? url ?? '');
}

export function money(usd) {
  return typeof usd === 'number' ? `$${usd.toFixed(usd !== 0 && usd < 0.01 ? 4 : 2)}` : '—';
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function statusBadge(status) {
  return h('span', { class: `status status-${String(status).toLowerCase()}` }, status);
}

/** Shows an API error (`{error, code}`) or any other error as one plain sentence. */
export function errorBox(err) {
  const code = err?.code ? ` (${err.code})` : '';
  return h('p', { class: 'error', role: 'alert' }, `${err?.message ?? String(err)}${code}`);
}
