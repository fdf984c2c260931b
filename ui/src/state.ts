/** The page's state lives in the query string, so every view is a shareable URL. */

export type State = Record<string, string>;

export function read(): State {
  return Object.fromEntries(new URLSearchParams(location.search));
}

/** Replaces the state (a new history entry when `push`), keeping empty values out. */
export function write(s: State, push = false): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) if (v !== '') q.set(k, v);
  const url = `?${q}`;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}
