/**
 * podwire's page: a header with the views (links: every state is a URL), a login form
 * when the API asks for one, and the view the query string names.
 */
import 'uplot/dist/uPlot.min.css';
import { get, post, type Whoami } from './api.js';
import { clear, h } from './dom.js';
import { liveView } from './live.js';
import { read, type State, write } from './state.js';
import { alertsView, podView, topView, traceView } from './views.js';

const VIEWS: [string, string][] = [
  ['live', 'Live'],
  ['top', 'Top talkers'],
  ['trace', 'Trace'],
  ['alerts', 'Alerts'],
];

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let stop: (() => void) | null = null;

function render(): void {
  stop?.();
  stop = null;
  const state = read();
  const view = state.view ?? 'live';
  clear(
    nav,
    ...VIEWS.map(([v, label]) =>
      h('a', { href: `?view=${v}`, 'aria-current': v === view ? 'page' : undefined }, label),
    ),
  );
  clear(main);
  const go = (s: State, rerender = true) => {
    write(s, rerender);
    if (rerender) render();
  };
  if (view === 'top') topView(main, state, go);
  else if (view === 'trace') traceView(main, state, go);
  else if (view === 'alerts') alertsView(main);
  else if (view === 'pod') podView(main, state);
  else stop = liveView(main, state, go);
}

function loginForm(message = ''): void {
  const token = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'aria-label': 'token',
  });
  const err = h('p', { class: 'error', role: 'alert' }, message);
  const form = h(
    'form',
    { id: 'login', class: 'login' },
    h('h2', {}, 'Sign in'),
    h('label', {}, 'Token ', token),
    h('button', { type: 'submit' }, 'Sign in'),
    err,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await post('/login', { token: token.value });
    if (r.ok) void start();
    else
      err.textContent = ((await r.json().catch(() => ({}))) as { error?: string }).error ?? 'not signed in';
  });
  clear(nav);
  clear(who);
  clear(main, form);
  token.focus();
}

async function start(): Promise<void> {
  let me: Whoami;
  try {
    me = await get<Whoami>('/whoami');
  } catch (e) {
    if ((e as { status?: number }).status === 401) return loginForm();
    clear(main, h('p', { class: 'error', role: 'alert' }, String(e)));
    return;
  }
  const scope = me.role === 'tenant' ? ` · namespaces ${me.namespaces?.join(', ')}` : ` · ${me.role}`;
  const out = h('button', { type: 'button', id: 'logout' }, 'Sign out');
  out.addEventListener('click', async () => {
    await post('/logout');
    loginForm();
  });
  clear(who, h('span', { id: 'whoami' }, `${me.name}${scope}`), me.name.startsWith('anonymous') ? '' : out);
  render();
}

window.addEventListener('popstate', render);
void start();
