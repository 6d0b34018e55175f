/* global document, window, location, history */
// The dashboard's router: hash routes #/jobs (list), #/jobs/ID (one job), #/new (submit form),
// #/stewards (list) and #/stewards/NAME (one steward and its notes).
import { forgetToken, savedToken } from './api.js';
import { jobPage } from './job-page.js';
import { jobsPage } from './jobs-page.js';
import { stewardPage } from './steward-page.js';
import { stewardsPage } from './stewards-page.js';
import { submitPage } from './submit-page.js';

const main = document.getElementById('main');
let current = null;

function route() {
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job)
    return {
      name: `job:${job[1]}`,
      nav: '#/jobs',
      make: () => jobPage(decodeURIComponent(job[1])),
      title: 'Job',
    };
  if (path === '/new') return { name: 'new', nav: '#/new', make: submitPage, title: 'New job' };
  const steward = /^\/stewards\/([^/]+)$/.exec(path);
  if (steward)
    return {
      name: `steward:${steward[1]}`,
      nav: '#/stewards',
      make: () => stewardPage(decodeURIComponent(steward[1])),
      title: 'Steward',
    };
  if (path === '/stewards')
    return { name: 'stewards', nav: '#/stewards', make: stewardsPage, title: 'Stewards' };
  const params = new URLSearchParams(query);
  return { name: 'jobs', nav: '#/jobs', params, make: () => jobsPage(params), title: 'Jobs' };
}

function show() {
  const next = route();
  if (current?.name === next.name && current.page.update) {
    current.page.update(next.params);
    return;
  }
  current?.page.stop?.();
  const page = next.make();
  current = { name: next.name, page };
  main.replaceChildren(page.el);
  document.title = `${next.title} · Forge`;
  for (const link of document.querySelectorAll('header nav a')) {
    const here = link.getAttribute('href') === next.nav;
    if (here) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // Move focus to the new page's heading (or first field) so keyboard and screen reader users
  // start there, as after a page load.
  if (page.focus) page.focus();
  else {
    const heading = main.querySelector('h1');
    heading?.setAttribute('tabindex', '-1');
    heading?.focus({ preventScroll: true });
  }
}

const signOut = document.getElementById('forget-token');
function showSignOut() {
  signOut.hidden = !savedToken();
}
signOut.addEventListener('click', () => {
  forgetToken();
  showSignOut();
});
window.addEventListener('storage', showSignOut);
window.addEventListener('hashchange', () => {
  show();
  showSignOut();
});
if (!location.hash) history.replaceState(null, '', '#/jobs');
show();
showSignOut();
