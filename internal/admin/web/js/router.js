// Hash routing: the server only ever serves the page itself, and the part
// after # picks what it shows, as #/page/argument.

/** The current route: { page, arg } with arg decoded, "" when absent. */
export function current() {
  const path = window.location.hash.replace(/^#\/?/, '');
  const i = path.indexOf('/');
  const page = i < 0 ? path : path.slice(0, i);
  let arg = i < 0 ? '' : path.slice(i + 1);
  try {
    arg = decodeURIComponent(arg);
  } catch {
    // A hand-typed malformed escape: use it as it is.
  }
  return { page: page || 'status', arg };
}

/** Goes to hash, which starts with #/. */
export function navigate(hash) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = hash;
}

/** The hash of page with arg encoded. */
export function link(page, arg) {
  return arg === undefined ? `#/${page}` : `#/${page}/${encodeURIComponent(arg)}`;
}
